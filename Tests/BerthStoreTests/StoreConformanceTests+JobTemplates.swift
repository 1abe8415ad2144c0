import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Jobs rendered from a JobTemplate on both stores: the template and the input files are kept
/// with the job, and go when it is pruned.
extension StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func keepsAJobsTemplateAndInputFiles(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            var spec = try jobSpec("cat /io/deltas.json")
            spec.inputPaths = ["/io"]
            var submission = JobSubmission(project: "qfc", name: "apply-deltas", spec: spec, idempotencyKey: "d-1", owner: ResourceID(kind: .jobTemplate, project: "qfc", name: "apply-deltas"))
            submission.template = JobTemplateRef(name: "apply-deltas", generation: 3)
            let binary = (0...255).map(UInt8.init)
            submission.inputs = [JobInputFile(path: "/io/deltas.json", content: Array(#"{"deltas": []}"#.utf8)), JobInputFile(path: "/io/blob.bin", content: binary)]
            // when
            let (job, created) = try await store.submitJob(submission, now: at(0))
            let repeated = try await store.submitJob(submission, now: at(1))
            // then
            #expect(created && !repeated.created && repeated.job.id == job.id)
            #expect(job.template == JobTemplateRef(name: "apply-deltas", generation: 3))
            let read = try #require(try await store.job(job.id))
            #expect(read.template == JobTemplateRef(name: "apply-deltas", generation: 3))
            #expect(read.spec.inputPaths == ["/io"])
            #expect(read == job)
            let inputs = try await store.jobInputs(job.id)
            #expect(inputs.map(\.path) == ["/io/blob.bin", "/io/deltas.json"])
            #expect(inputs.first?.content == binary)
            #expect(try await store.jobInputs("nope").isEmpty)
            #expect(try await store.events(EventQuery(jobID: job.id)).map(\.reason) == ["Submitted"])
            #expect(try await store.jobCounts(project: "qfc") == [.pending: 1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aManifestTemplatesJobHasNoGenerationAndPlainJobsNoTemplate(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            var fromManifest = try submission(project: "qfc")
            fromManifest.template = JobTemplateRef(name: "export", generation: nil)
            // when
            let templated = try await store.submitJob(fromManifest, now: at(0)).job
            let plain = try await store.submitJob(try submission(project: "qfc"), now: at(0)).job
            // then
            #expect(try await store.job(templated.id)?.template == JobTemplateRef(name: "export", generation: nil))
            #expect(try await store.job(plain.id)?.template == nil)
            #expect(try await store.jobInputs(templated.id).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pruningAJobRemovesItsInputFiles(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: a finished job with a file
            var spec = try jobSpec()
            spec.inputPaths = ["/io"]
            var withFile = JobSubmission(project: "qfc", name: "j", spec: spec)
            withFile.inputs = [JobInputFile(path: "/io/x", content: [1, 2, 3])]
            let job = try await store.submitJob(withFile, now: at(0)).job
            try await store.requestCancel(job.id, now: at(1))
            // when
            let pruned = try await store.pruneJobs(finishedBefore: .distantFuture, keepPerProject: 0)
            // then
            #expect(pruned == 1)
            #expect(try await rawQuery(store, "SELECT count(*) FROM job_inputs") == [["0"]])
        }
    }
}
