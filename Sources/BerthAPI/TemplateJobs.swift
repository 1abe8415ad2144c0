import BerthController
import BerthCore
import BerthStore
import HTTPTypes

/// Jobs submitted from a JobTemplate (`POST /v1/jobs` with `template`): the template is looked up
/// in the desired state, the parameters and input files checked and the job rendered from it.
/// The job is trusted as its template's author (a manifest or an admin): parameters only fill
/// placeholders, so nothing the caller sends widens what the container may do; it is checked
/// against its project's volumes and networks like any job.
struct TemplateJobs {
    let admission: Admission

    /// The job `request` asks for, ready to store; 403, 422 (with the field) when refused.
    func submission(_ request: TemplateSubmission, context: APIRequestContext) async throws -> JobSubmission {
        try context.authorize(.submitTemplateJobs, project: request.project)
        let snapshot = try await admission.desired(for: request.project)
        let id = ResourceID(kind: .jobTemplate, project: request.project, name: request.template)
        guard let template = snapshot.state.jobTemplate(project: id.project, name: id.name) else {
            throw APIError(.unprocessableContent, code: "invalid", message: "no JobTemplate \(id.name) in project \(id.project)", field: "template")
        }
        let rendered: (spec: JobSpec, inputs: [JobInputFile])
        do {
            rendered = try request.render(template)
        } catch {
            throw APIError.invalid(error, syntax: false)
        }
        let name = request.name ?? request.template
        let resource = Resource(metadata: ResourceMetadata(name: name, project: request.project, labels: request.labels), spec: .job(rendered.spec))
        try await admission.admitJob(resource, rendered.spec, by: .admin)
        var submission = JobSubmission(project: request.project, name: name, spec: rendered.spec, owner: id)
        submission.template = JobTemplateRef(name: id.name, generation: snapshot.generations[id])
        submission.inputs = rendered.inputs
        submission.labels = request.labels
        return submission
    }
}
