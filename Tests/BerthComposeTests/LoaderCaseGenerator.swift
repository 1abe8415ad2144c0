/// Generates compose projects for the differential test from a seed: a compose file, sometimes an
/// override file, a `.env` file and a service `env_file`, every value built from the interpolation
/// forms both compose 1.29 and v2 know (`$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V?m}`, `${V:?m}` on
/// set variables, `$$`), against variables that are unset, empty, set in `.env`, in the process
/// environment, or in both.
struct LoaderCaseGenerator {
    /// The files written, by name relative to the project directory.
    var files: [(String, String)] = []
    /// The compose files, in `-f` order.
    var composeFiles: [String] = []
    /// The process environment.
    var environment: [String: String] = [:]

    private var random: SplitMix64
    /// Each variable's value as both tools will see it (nil: unset).
    private var values: [String: String?] = [:]

    init(seed: UInt64) {
        random = SplitMix64(state: seed &* 0x9E37_79B9 &+ 17)
    }

    func generate() -> LoaderCaseGenerator {
        var generator = self
        generator.build()
        return generator
    }

    private mutating func build() {
        var dotEnv: [String] = ["# generated"]
        for index in 0..<6 {
            let name = "V\(index)"
            switch random.below(5) {
            case 0: values[name] = .some(nil)
            case 1:
                environment[name] = ""
                values[name] = ""
            case 2:
                let value = "env\(index)"
                dotEnv.append(random.below(2) == 0 ? "\(name)=\(value)" : random.below(2) == 0 ? "export \(name)=\(value)" : "\(name)=\"\(value)\"")
                values[name] = value
            case 3:
                environment[name] = "proc\(index)"
                values[name] = "proc\(index)"
            default:
                dotEnv.append("\(name)=shadowed")
                environment[name] = "wins\(index)"
                values[name] = "wins\(index)"
            }
        }
        let port = random.below(2) == 0 ? "90\(random.below(90) + 10)" : nil
        if let port { environment["PORT"] = port }
        files.append((".env", dotEnv.joined(separator: "\n") + "\n"))

        let count = random.below(3) + 1
        var compose = "services:\n"
        for index in 0..<count { compose += service(index) }
        compose += "volumes:\n  data:\n  cache:\n  other:\n"
        files.append(("compose.yaml", compose))
        composeFiles = ["compose.yaml"]
        if random.below(2) == 0 {
            files.append(("compose.override.yaml", override()))
            composeFiles.append("compose.override.yaml")
        }
        if files.contains(where: { $0.1.contains("env_file") }) {
            files.append(("svc.env", "FILE_ONLY=from-file\nK0=from-file\n# comment\n"))
        }
    }

    /// A reference to a random variable in a random form.
    private mutating func reference() -> String {
        let name = "V\(random.below(6))"
        let isSet = (values[name] ?? nil) != nil
        let isNonEmpty = !(((values[name] ?? nil) ?? "").isEmpty)
        var forms = ["$\(name)", "${\(name)}", "${\(name):-d\(name)}", "${\(name)-d\(name)}", "$$\(name)", "x$${\(name)}"]
        if isSet { forms.append("${\(name)?need}") }
        if isNonEmpty { forms.append("${\(name):?need}") }
        return random.pick(forms)
    }

    /// A value with one or two references, sometimes with text around them.
    private mutating func value() -> String {
        var text = reference()
        if random.below(2) == 0 { text = "a-" + text + "-z" }
        if random.below(3) == 0 { text += "/" + reference() }
        return text
    }

    private mutating func service(_ index: Int) -> String {
        var text = "  s\(index):\n    image: \"img\(index):\(value())\"\n"
        if random.below(2) == 0 {
            text += "    command: \"run --flag \(value())\"\n"
        } else {
            text += "    command: [\"run\", \"\(value())\"]\n"
        }
        if random.below(3) == 0 { text += "    entrypoint: \"/bin/sh -c\"\n" }
        if random.below(2) == 0 {
            text += "    environment:\n      - \"K0=\(value())\"\n      - \"V\(random.below(6))\"\n      - \"K2=fixed\"\n"
        } else {
            text += "    environment:\n      K0: \"\(value())\"\n      K1: \"\(value())\"\n"
        }
        if random.below(3) == 0 { text += "    env_file: svc.env\n" }
        let ports = [
            "\"80\(index):80\"", "\"\(3000 + index)\"", "\"127.0.0.1:81\(index):81/udp\"", "\"${PORT:-88\(index)}:88\"", "\"[::1]:82\(index):82\"",
        ]
        text += "    ports:\n" + Set((0..<(random.below(3) + 1)).map { _ in random.pick(ports) }).sorted().map { "      - \($0)\n" }.joined()
        let volumes = ["\"data:/data\"", "\"./rel\(index):/x:ro\"", "\"/abs/\(index):/abs\"", "\"/anon\(index)\"", "\"cache:/cache:nocopy\""]
        text += "    volumes:\n" + Set((0..<(random.below(3) + 1)).map { _ in random.pick(volumes) }).sorted().map { "      - \($0)\n" }.joined()
        if random.below(2) == 0 {
            let test = random.below(2) == 0 ? "\"curl -f http://localhost/\(value())\"" : "[\"CMD\", \"check\", \"\(value())\"]"
            text += "    healthcheck:\n      test: \(test)\n      interval: 10s\n      retries: 3\n"
        }
        if index > 0 {
            text +=
                random.below(2) == 0
                ? "    depends_on: [s0]\n" : "    depends_on:\n      s0:\n        condition: service_healthy\n"
        }
        return text
    }

    /// Overrides the first service: a new image and command, more environment and ports, a volume
    /// at an existing target.
    private mutating func override() -> String {
        """
        services:
          s0:
            image: "override:\(value())"
            command: ["serve", "\(value())"]
            environment:
              K0: "over-\(value())"
              K9: "added"
            ports:
              - "8443:443"
              - "800:80"
            volumes:
              - "other:/data"

        """
    }
}

/// A small seeded random number generator, so a failing case can be run again by its seed.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func pick<Element>(_ options: [Element]) -> Element {
        options[below(options.count)]
    }
}
