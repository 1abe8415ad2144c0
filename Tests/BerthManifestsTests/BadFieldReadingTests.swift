import BerthCore
import BerthManifests
import Foundation
import Testing

@Suite("Reading a manifest with a problem in one field")
struct BadFieldReadingTests {
    // MARK: Problems in one field

    /// A document that is wrong in one place, and the issue expected for it.
    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var path: String
        var line: Int
        var message: [String]

        var testDescription: String { name }

        /// A Service whose one environment variable is `entry` (a line of YAML, line 7).
        static func serviceWithEnv(_ entry: String) -> String {
            "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app}\nspec:\n  image: nginx:1.27\n  env:\n    \(entry)\n"
        }

        static func env(_ name: String, _ entry: String, path: String, message: String) -> BadInput {
            BadInput(name: name, yaml: serviceWithEnv(entry), path: path, line: 7, message: [message])
        }
    }

    static let badInputs: [BadInput] = [
        BadInput(
            name: "misspelt field",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  imgae: nginx:1.27
                """,
            path: "spec.imgae", line: 5, message: [#"unknown field "imgae""#, #"(did you mean "image"?)"#]
        ),
        BadInput(
            name: "wrong type",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  replicas: "two"
                """,
            path: "spec.replicas", line: 6, message: [#"expected an integer, found string "two""#]
        ),
        BadInput(
            name: "missing required field",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  replicas: 2
                """,
            path: "spec.image", line: 5, message: [#"missing required field "image""#]
        ),
        BadInput(
            name: "duration without unit",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  stopGracePeriod: 10
                """,
            path: "spec.stopGracePeriod", line: 6, message: ["expected a duration", "add a unit, such as 10s"]
        ),
        BadInput(
            name: "memory with unknown suffix",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  resources:
                    memory: 12Q
                """,
            path: "spec.resources.memory", line: 7, message: ["expected a size", #"unknown suffix "Q""#]
        ),
        BadInput(
            name: "cron schedule with four fields",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * *"
                  jobTemplate: {image: busybox}
                """,
            path: "spec.schedule", line: 5, message: ["expected 5 fields", #"found 4 fields in "0 3 * *""#]
        ),
        BadInput(
            name: "unknown time zone",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * * *"
                  timeZone: Europe/Zurik
                  jobTemplate: {image: busybox}
                """,
            path: "spec.timeZone", line: 6,
            message: [#"expected an IANA time zone such as Europe/Zurich or UTC, found "Europe/Zurik""#, #"(did you mean "Europe/Zurich"?)"#]
        ),
        BadInput(
            name: "time zone abbreviation",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * * *"
                  jobTemplate: {image: busybox}
                  timeZone: CET
                """,
            path: "spec.timeZone", line: 7, message: [#"found "CET"; write the zone as Area/Location"#]
        ),
        BadInput(
            name: "port out of range",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  ports:
                    - "8080:80"
                    - "8080:70000"
                """,
            path: "spec.ports[1]", line: 8, message: ["expected a port mapping", "70000 is out of range 1-65535"]
        ),
        BadInput(
            name: "relative host path mount",
            yaml: """
                apiVersion: berth/v1
                kind: Job
                metadata: {name: export}
                spec:
                  image: busybox
                  volumes: ["./data:/data"]
                """,
            path: "spec.volumes[0]", line: 6, message: ["expected a mount", #"use an absolute host path such as /srv/app instead of "./data""#]
        ),
        BadInput(
            name: "uppercase name",
            yaml: """
                apiVersion: berth/v1
                kind: Volume
                metadata:
                  name: Data
                """,
            path: "metadata.name", line: 4, message: [#"names are lowercase, found "Data"; use "data""#]
        ),
        BadInput(
            name: "wrong apiVersion",
            yaml: """
                apiVersion: berth/v2
                kind: Volume
                metadata: {name: data}
                spec: {}
                """,
            path: "apiVersion", line: 1, message: [#"expected apiVersion "berth/v1", found "berth/v2""#]
        ),
        BadInput(
            name: "unknown kind",
            yaml: """
                apiVersion: berth/v1
                kind: Servce
                metadata: {name: app}
                spec: {image: nginx}
                """,
            path: "kind", line: 2, message: ["expected one of Project, Volume, Network, Service", #"found "Servce" (did you mean "Service"?)"#]
        ),
        BadInput(
            name: "invalid environment variable name",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  env:
                    GOOD: "1"
                    MY-VAR: x
                """,
            path: "spec.env.MY-VAR", line: 8, message: [#"environment variable name "MY-VAR" contains "-""#]
        ),
        BadInput(
            name: "env reference with both fromEnv and fromFile",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  env:
                    TOKEN: {fromEnv: X, fromFile: /y}
                """,
            path: "spec.env.TOKEN", line: 7, message: ["expected a string, {fromEnv: NAME} or {fromFile: /path}"]
        ),
        .env("env fromFile with a relative path", "KEY: {fromFile: run/secrets/key}", path: "spec.env.KEY.fromFile", message: #"expected an absolute path, found "run/secrets/key""#),
        .env("env fromEnv naming an invalid variable", "KEY: {fromEnv: 1KEY}", path: "spec.env.KEY.fromEnv", message: "cannot start with a digit"),
        .env("env reference with neither fromEnv nor fromFile", "KEY: {}", path: "spec.env.KEY", message: "expected a string, {fromEnv: NAME} or {fromFile: /path}"),
        .env("env reference with an unknown key", "KEY: {fromSecret: key}", path: "spec.env.KEY.fromSecret", message: #"unknown field "fromSecret""#),
        .env("env value that is a list", "KEY: [a, b]", path: "spec.env.KEY", message: "expected a string, found a list"),
        BadInput(
            name: "reserved label key",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  labels:
                    berth.managed: "false"
                """,
            path: "spec.labels.berth.managed", line: 7, message: [#"label keys starting with "berth." are reserved"#]
        ),
        BadInput(
            name: "renewBefore not shorter than duration",
            yaml: """
                apiVersion: berth/v1
                kind: Certificate
                metadata: {name: web}
                spec:
                  dnsNames: [app.example.org]
                  duration: 30d
                  renewBefore: 30d
                  target: {hostPath: /etc/certs}
                """,
            path: "spec.renewBefore", line: 7, message: ["expected renewBefore (30d) shorter than duration (30d)"]
        ),
        BadInput(
            name: "certificate target without volume or hostPath",
            yaml: """
                apiVersion: berth/v1
                kind: Certificate
                metadata: {name: web}
                spec:
                  dnsNames: [app.example.org]
                  target:
                    path: live/web
                """,
            path: "spec.target", line: 7, message: ["expected either {volume: NAME, path: DIR} or {hostPath: /DIR}"]
        ),
        BadInput(
            name: "project inside a project",
            yaml: """
                apiVersion: berth/v1
                kind: Project
                metadata:
                  name: shop
                  project: other
                """,
            path: "metadata", line: 4, message: ["a Project has no metadata.project; its metadata.name is the project"]
        ),
    ]

    @Test(arguments: badInputs)
    func reportsABadFieldWithItsPathLineAndReason(_ input: BadInput) throws {
        // when
        let issues = readingIssues(input.yaml)
        // then
        let issue = try #require(
            issues.first { $0.path == input.path },
            "no issue at \(input.path); got: \(issues.map(\.description))"
        )
        #expect(issue.location?.file == "bad.yaml")
        #expect(issue.location?.line == input.line)
        for fragment in input.message {
            #expect(issue.message.contains(fragment), "\(issue.message.debugDescription) lacks \(fragment.debugDescription)")
        }
        #expect(issue.description.hasPrefix("bad.yaml:\(input.line):"))
    }

    @Test func anInvalidEnvReferenceIsOneProblemNotTwo() {
        let issues = readingIssues(BadInput.serviceWithEnv("KEY: {fromFile: relative/path}"))
        #expect(issues.map(\.path) == ["spec.env.KEY.fromFile"], "\(issues.map(\.description))")
    }

    @Test func namesTheResourceOnEveryIssueOnceItsIdentityIsKnown() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec:
              image: nginx:1.27
              replicas: -1
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.resource) == [ResourceID(kind: .service, project: "shop", name: "app")])
        #expect(issues.first?.description.contains("Service shop/app: spec.replicas: expected an integer from 0 to 1000, found -1") == true)
    }

    @Test func reportsEveryProblemOfADocumentAtOnce() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: nginx:1.27
              replicas: many
              restart: sometimes
              ports: ["80", "0:80"]
              healthcheck: {command: [], interval: 0s}
              stopGracePeriod: soon
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.count >= 3)
        #expect(
            Set(issues.map(\.path)) == [
                "spec.replicas", "spec.restart", "spec.ports[1]", "spec.healthcheck.command",
                "spec.healthcheck.interval", "spec.stopGracePeriod",
            ])
        #expect(issues.first { $0.path == "spec.restart" }?.message.contains(#"found "sometimes""#) == true)
    }

    @Test func listsTheProblemsOfADocumentInSourceOrder() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: nginx:1.27
              volumes: ["./data:/data"]
              env: {MY-VAR: x}
              replicas: two
              labels: {berth.x: y}
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.volumes[0]", "spec.env.MY-VAR", "spec.replicas", "spec.labels.berth.x"])
        #expect(issues.compactMap(\.location?.line) == [6, 7, 8, 9])
    }

    @Test func reportsProblemsOfEveryDocumentOfAStream() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data}
            spec: {reclaimPolicy: Keep}
            ---
            apiVersion: berth/v1
            kind: Job
            metadata: {name: once}
            spec: {image: busybox, backoffLimit: 1.5}
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.reclaimPolicy", "spec.backoffLimit"])
        #expect(issues.map(\.location?.line) == [4, 9])
        #expect(issues.map(\.resource?.kind) == [.volume, .job])
    }

    @Test func refusesADefaultBucketNameLongerThanS3Allows() throws {
        // given: a 40-character project and a 40-character name make an 81-character default
        let project = String(repeating: "p", count: 40), name = String(repeating: "b", count: 40)
        let yaml = """
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: \(name), project: \(project)}
            spec:
              versioning: true
            """
        // when
        let issues = readingIssues(yaml)
        // then
        let issue = try #require(issues.first, "a bucket named \(project)-\(name) was accepted")
        #expect(issue.path.hasPrefix("spec"))
        #expect(issue.message.contains("3 to 63 characters"))
        #expect(issue.message.contains("set bucketName") || issue.message.contains("set spec.bucketName"))
    }
}
