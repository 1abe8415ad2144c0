import BerthHostFiles
import Foundation
import Testing

/// Symlinks on a real file system, resolved as the kernel would follow them.
@Suite struct HostPathResolverTests {
    @Test func linksAreFollowedWhereverTheyStandAndTheMissingTailIsKeptAsWritten() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-resolve-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/srv/shop/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let links = [
            ("/srv/shop/escape", "/etc"), // absolute, out of the folder
            ("/srv/shop/up", "../.."), // relative, climbing out
            ("/srv/shop/data-link", "data"), // relative, staying in
            ("/srv/shop/chain", "data-link"), // a link to a link
            ("/srv/shop/loop", "loop"), // a loop
        ]
        for (link, target) in links {
            try FileManager.default.createSymbolicLink(atPath: root + link, withDestinationPath: target)
        }
        let realRoot = HostPathResolver.resolve(root) // the temporary folder may itself sit behind a link
        #expect(HostPathResolver.resolve(root + "/srv/shop/escape/shadow") == "/etc/shadow")
        #expect(HostPathResolver.resolve(root + "/srv/shop/up/x") == realRoot + "/x")
        #expect(HostPathResolver.resolve(root + "/srv/shop/data-link/file") == realRoot + "/srv/shop/data/file")
        #expect(HostPathResolver.resolve(root + "/srv/shop/chain") == realRoot + "/srv/shop/data")
        #expect(HostPathResolver.resolve(root + "/srv/shop/not/yet/there") == realRoot + "/srv/shop/not/yet/there")
        // A loop ends after 40 links, as the kernel's ELOOP does, without hanging.
        #expect(HostPathResolver.resolve(root + "/srv/shop/loop").hasPrefix(realRoot + "/srv/shop/"))
        #expect(HostPathResolver.resolve("/") == "/")
    }
}
