import BerthCore
import Foundation
import Testing
@testable import BerthDocker

/// The container options as Berth maps them, created on a real dockerd: what the engine records
/// (read back raw with `GET /containers/{id}/json`) and what the process inside then sees.
@Suite("Container options against a real dockerd")
struct ContainerOptionsEngineTests {
    /// Prints one `name=value` line per option, as seen from inside the container.
    static let probe = """
        echo host=$(hostname)
        echo somaxconn=$(cat /proc/sys/net/core/somaxconn)
        echo nofile=$(ulimit -Sn)/$(ulimit -Hn) nproc=$(ulimit -u)
        echo hosts=$(grep -E 'db.local|v6' /etc/hosts | tr '\\t' ' ' | tr '\\n' ',')
        echo resolv=$(grep -E '^(nameserver|search)' /etc/resolv.conf | tr '\\n' ',')
        test -c /dev/mynull && echo device=char
        echo shm=$(df -k /dev/shm | awk 'NR == 2 {print $2}') scratch=$(df -k /scratch | awk 'NR == 2 {print $2}') mode=$(stat -c %a /scratch)
        mount | grep -q ' on /run type tmpfs' && echo run=tmpfs
        touch /written 2>/dev/null || echo rootfs=readonly
        echo $(grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t' | tr '\\n' ' ')
        echo pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)
        test -t 1 && echo tty=yes
        """

    @Test func everyOptionReachesTheEngineAndTheContainerRunsWithIt() async throws {
        try await withTestEngine { engine in
            // given: a job spec with every option, on network none (its own network namespace)
            let command = try String(decoding: JSONEncoder().encode(["sh", "-c", Self.probe]), as: UTF8.self)
            let container = try JobSpec(
                json: #"""
                    {"image": "\#(engine.image)", "network": "none", "command": \#(command), "noNewPrivileges": true,
                     "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
                     "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512}, "capDrop": ["ALL"], "capAdd": ["NET_ADMIN"],
                     "extraHosts": ["db.local:127.0.0.1", "v6:[::1]"], "tmpfs": ["/run", "/scratch:size=64m,mode=1777"], "shmSize": "256Mi",
                     "tty": true, "stdinOpen": true, "sysctls": {"net.core.somaxconn": "1024"}, "readOnlyRootFilesystem": true,
                     "pidsLimit": 100, "hostname": "web", "dns": ["1.1.1.1"], "dnsSearch": ["example.org"],
                     "devices": ["/dev/null:/dev/mynull:rw"],
                     "securityOpt": ["no-new-privileges", "seccomp=unconfined", "apparmor=unconfined", "label=disable"]}
                    """#
            ).container
            let request = ContainerCreateRequest(container, labels: engine.labels, volumeNames: [:], environment: [:])

            // when
            let id = try await engine.client.createContainer(name: engine.name("options"), request)
            let inspected = try JSONSerialization.jsonObject(with: Data(try await EngineContractTests.rawInspect(engine, id))) as? [String: Any]
            try await engine.client.startContainer(id)
            let exitCode = try await engine.client.waitContainer(id, timeout: .seconds(60))
            let output = String(decoding: try await engine.client.logs(id).stdout, as: UTF8.self).replacingOccurrences(of: "\r", with: "")

            // then: the engine recorded each option
            let config = try #require(inspected?["Config"] as? [String: Any])
            let host = try #require(inspected?["HostConfig"] as? [String: Any])
            #expect(config["Tty"] as? Bool == true && config["OpenStdin"] as? Bool == true && config["Hostname"] as? String == "web")
            let log = host["LogConfig"] as? [String: Any]
            #expect(log?["Type"] as? String == "json-file" && log?["Config"] as? [String: String] == ["max-size": "10m", "max-file": "3"])
            let ulimits = (host["Ulimits"] as? [[String: Any]])?.map { "\($0["Name"] ?? "")=\($0["Soft"] ?? ""):\($0["Hard"] ?? "")" }
            #expect(ulimits == ["nofile=1024:2048", "nproc=512:512"])
            #expect(host["CapAdd"] as? [String] == ["CAP_NET_ADMIN"] && host["CapDrop"] as? [String] == ["ALL"])
            #expect(host["ExtraHosts"] as? [String] == ["db.local:127.0.0.1", "v6:::1"])
            #expect(host["Tmpfs"] as? [String: String] == ["/run": "", "/scratch": "size=64m,mode=1777"])
            #expect(host["ShmSize"] as? Int == 256 << 20)
            #expect(host["Sysctls"] as? [String: String] == ["net.core.somaxconn": "1024"])
            #expect(host["ReadonlyRootfs"] as? Bool == true && host["PidsLimit"] as? Int == 100)
            #expect(host["Dns"] as? [String] == ["1.1.1.1"] && host["DnsSearch"] as? [String] == ["example.org"])
            let devices = (host["Devices"] as? [[String: Any]])?.map { "\($0["PathOnHost"] ?? ""):\($0["PathInContainer"] ?? ""):\($0["CgroupPermissions"] ?? "")" }
            #expect(devices == ["/dev/null:/dev/mynull:rw"])
            #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges:true", "seccomp=unconfined", "apparmor=unconfined", "label=disable"])

            // and the process ran with them (its output read back through the TTY's raw stream)
            #expect(exitCode == 0, "\(output)")
            let lines = Set(output.split(separator: "\n").map(String.init))
            for expected in [
                "host=web", "somaxconn=1024", "nofile=1024/2048 nproc=512", "hosts=127.0.0.1 db.local,::1 v6,",
                "resolv=search example.org,nameserver 1.1.1.1,", "device=char", "shm=262144 scratch=65536 mode=1777", "run=tmpfs",
                "rootfs=readonly", "CapEff:0000000000001000 NoNewPrivs:1 Seccomp:0", "pids=100", "tty=yes",
            ] {
                #expect(lines.contains(expected), "\(expected) not in:\n\(output)")
            }
        }
    }

    @Test func aSpecWithoutOptionsLeavesTheEnginesDefaults() async throws {
        try await withTestEngine { engine in
            // given
            let container = try JobSpec(json: #"{"image": "\#(engine.image)", "network": "none", "command": ["true"]}"#).container
            let request = ContainerCreateRequest(container, labels: engine.labels, volumeNames: [:], environment: [:])

            // when
            let id = try await engine.client.createContainer(name: engine.name("defaults"), request)
            let inspected = try JSONSerialization.jsonObject(with: Data(try await EngineContractTests.rawInspect(engine, id))) as? [String: Any]

            // then
            let config = try #require(inspected?["Config"] as? [String: Any])
            let host = try #require(inspected?["HostConfig"] as? [String: Any])
            #expect(config["Tty"] as? Bool == false && config["OpenStdin"] as? Bool == false)
            #expect(host["ReadonlyRootfs"] as? Bool == false && host["ShmSize"] as? Int == 64 << 20)
            #expect((host["CapAdd"] as? [String] ?? []).isEmpty && (host["Devices"] as? [Any] ?? []).isEmpty)
            #expect(host["SecurityOpt"] as? [String] == nil)
        }
    }
}
