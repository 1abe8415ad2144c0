@testable import BerthCompose
import BerthCore
import BerthManifests
import Testing

@Suite("Compose translation drops nothing silently")
struct TranslationCompletenessTests {
    /// A service that sets nearly every compose field.
    static let kitchenSink = """
        services:
          app:
            image: example/app:1
            build: {context: /srv/shop/app}
            command: ["serve"]
            entrypoint: ["/init"]
            environment: {A: "1"}
            labels: {team: shop}
            ports:
              - {target: 80, published: "8080", protocol: tcp, name: web, app_protocol: http}
            expose: ["81"]
            volumes:
              - {type: volume, source: data, target: /data, volume: {nocopy: true, subpath: sub}}
              - {type: bind, source: /srv/shop/x, target: /x, bind: {propagation: rshared, selinux: z}}
              - {type: npipe, source: //./pipe/x, target: //./pipe/x}
            tmpfs: [/run]
            secrets:
              - {source: s, uid: "1000", gid: "1000", mode: 0440}
            configs:
              - {source: c}
            healthcheck: {test: ["CMD", "true"], start_interval: 1s}
            restart: always
            deploy:
              mode: global
              replicas: 1
              placement: {constraints: ["node.role==manager"]}
              endpoint_mode: vip
              labels: {a: b}
              rollback_config: {parallelism: 1}
              resources:
                limits: {cpus: "1", memory: 1g, pids: 10, devices: [{capabilities: [gpu]}]}
                reservations: {cpus: "0.5"}
              restart_policy: {condition: any, delay: 5s, window: 1m}
              update_config: {order: start-first, monitor: 1m}
            depends_on:
              db: {condition: service_started, restart: true, required: true}
            networks:
              back: {aliases: [api], ipv6_address: "fd00::5", link_local_ips: [169.254.1.1], priority: 10, mac_address: "02:42:ac:11:00:02"}
            annotations: {a: b}
            attach: false
            blkio_config: {weight: 300}
            cgroup: host
            cgroup_parent: m
            container_name: app
            cpu_count: 1
            cpu_percent: 50
            cpu_shares: 512
            cpu_period: 100000
            cpu_quota: 50000
            cpu_rt_runtime: 1
            cpu_rt_period: 1
            cpuset: "0"
            credential_spec: {file: x.json}
            develop: {watch: [{path: ., action: sync, target: /app}]}
            device_cgroup_rules: ["c 1:3 mr"]
            dns_opt: [use-vc]
            domainname: example.org
            external_links: [other]
            gpus: all
            group_add: [mail]
            ipc: host
            isolation: default
            links: [db]
            mac_address: "02:42:ac:11:00:02"
            mem_reservation: 1g
            mem_swappiness: 0
            memswap_limit: 2g
            oom_kill_disable: true
            oom_score_adj: 100
            pid: host
            platform: linux/amd64
            post_start: [{command: ["true"]}]
            pre_stop: [{command: ["true"]}]
            privileged: true
            pull_policy: daily
            runtime: runc
            storage_opt: {size: 1G}
            userns_mode: host
            uts: host
            volumes_from: [db]
            x-anything: 1
          db:
            image: postgres:16
            network_mode: "service:app"
        networks:
          back:
            name: other_back
            attachable: true
            ipam:
              driver: custom
              options: {a: b}
              config:
                - {subnet: 10.5.0.0/16, ip_range: 10.5.1.0/24, aux_addresses: {h: 10.5.0.9}}
                - {subnet: 10.6.0.0/16}
            enable_ipv6: false
            frobnicate: 1
        volumes:
          data: {frobnicate: 1}
        secrets:
          s: {environment: S}
        configs:
          c: {content: "hello"}
        """

    /// Every field of the service, and every setting inside it, is cited by a comment of the
    /// output or by a warning (the field itself or one that contains it).
    @Test func everyComposeFieldIsTranslatedOrWarned() throws {
        let translation = try TranslationFixture.translate(Self.kitchenSink)
        _ = try TranslationFixture.readBack(translation)
        let project = try TranslationFixture.project(Self.kitchenSink)
        let text = translation.files.values.joined(separator: "\n")
        // The compose field each comment of the output cites: the last word of `# file:line:column field`.
        let cited = text.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("# ") else { return nil }
            return line.split(separator: " ").last.map(String.init)
        }
        let named = translation.warnings.map(\.field) + cited + Self.translatedWhole
        var uncited: [String] = []
        for path in Self.leafPaths(project.document, path: "") where !path.contains("x-") {
            let covered = named.contains { path == $0 || path.hasPrefix($0 + ".") || path.hasPrefix($0 + "[") }
            if !covered { uncited.append(path) }
        }
        #expect(uncited == [], "fields neither translated nor warned")
    }

    /// Values translated as a whole without a comment of their own: the secret and config
    /// declarations are listed in the project file's header, and their `file` is the mount.
    static let translatedWhole = ["secrets", "configs"]

    /// `services.app.deploy.resources.limits.cpus` and the like: every path down to a scalar.
    static func leafPaths(_ node: InputNode, path: String) -> [String] {
        switch node.content {
        case .map(let entries):
            if entries.isEmpty { return [path] }
            return entries.flatMap { leafPaths($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)") }
        case .list(let items):
            if items.isEmpty { return [path] }
            return items.enumerated().flatMap { leafPaths($1, path: "\(path)[\($0)]") }
        case .null, .bool, .number, .string:
            return [path]
        }
    }

    @Test func stringsThatLookLikeYAMLSyntaxReadBackAsWritten() throws {
        let values = [
            "key with space": "a: b # not a comment", "-dash": "- item", "star": "*alias", "amp": "&anchor", "bang": "!tag",
            "pct": "%directive", "at": "@reserved", "tick": "`cmd`", "quote": "it's", "dq": "say \"hi\"", "nl": "two\nlines",
            "tab": "a\tb", "uni": "grüße ✓", "num": "0123", "float": "1e3", "bool": "true", "null": "null", "empty": "",
            "colon-end": "value:", "brace": "{x}", "bracket": "[x]", "pipe": "|", "gt": ">", "hash": "#x", "backslash": "C:\\dir",
        ]
        let labels = values.sorted { $0.key < $1.key }.map { "      \(ManifestWriter.quote($0.key)): \(ManifestWriter.quote($0.value))" }
        let yaml = "services:\n  app:\n    image: busybox\n    labels:\n" + labels.joined(separator: "\n") + "\n"
        let (state, translation) = try TranslationFixture.state(yaml)
        #expect(try state.service("app").container.labels == values)
        #expect(translation.warnings.isEmpty)
    }
}
