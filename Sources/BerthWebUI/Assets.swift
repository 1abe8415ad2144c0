import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The UI's one style sheet and one script, embedded in the binary (no CDN, no outside fonts),
/// served with a content-hash ETag so a browser revalidates them cheaply.
package struct Asset: Sendable {
    package let body: String
    let contentType: String
    /// `"` + the first 16 hex digits of the body's SHA-256 + `"`.
    let etag: String

    init(_ body: String, contentType: String) {
        self.body = body
        self.contentType = contentType
        etag = "\"" + SHA256.hash(data: Data(body.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// 304 when the browser holds this version, else the asset; kept a day, then revalidated.
    func response(_ request: Request) -> Response {
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=86400, must-revalidate"]
        if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    package static let css = Asset(styleSheet, contentType: "text/css; charset=utf-8")
    package static let javaScript = Asset(script, contentType: "text/javascript; charset=utf-8")

    /// Readable at 360 px, dark by `prefers-color-scheme`, a visible `:focus-visible` outline.
    private static let styleSheet = """
        :root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad;
          --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --panel: #f6f8fa; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --accent: #4493f8;
            --ok: #3fb950; --warn: #d29922; --bad: #f85149; --panel: #151b23; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
        header .brand { font-weight: 700; margin-right: .5rem; }
        nav#nav ul { display: flex; flex-wrap: wrap; gap: .25rem .9rem; list-style: none; margin: 0; padding: 0; }
        nav#nav a[aria-current="page"] { font-weight: 700; text-decoration: none; color: var(--fg); }
        form#signout { margin-left: auto; }
        main { padding: 1rem; max-width: 80rem; }
        h1 { font-size: 1.4rem; margin: .2rem 0 .8rem; }
        h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .93rem; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; }
        .phase-Ready, .state-finished { color: var(--ok); }
        .phase-Progressing, .phase-Pending, .state-pending, .state-queued, .state-started { color: var(--warn); }
        .phase-Degraded, .phase-Failed, .state-failed, .state-cancelled { color: var(--bad); }
        tr.near-expiry td.expiry { color: var(--bad); font-weight: 700; }
        tr.not-ready td.state, tr.not-ready td.heartbeat { color: var(--bad); font-weight: 700; }
        ul.inline { display: flex; flex-wrap: wrap; gap: .25rem .9rem; list-style: none; margin: 0 0 .6rem; padding: 0; }
        ul.inline a[aria-current="page"] { font-weight: 700; color: var(--fg); text-decoration: none; }
        #phase-counts { display: flex; flex-wrap: wrap; gap: .4rem; list-style: none; padding: 0; }
        #phase-counts li { border: 1px solid var(--line); border-radius: 1rem; padding: .1rem .7rem; }
        pre { background: var(--panel); border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 32rem; font-size: .85rem; white-space: pre-wrap; word-break: break-all; }
        .muted, p.none { color: var(--muted); }
        p.error { color: var(--bad); font-weight: 600; }
        form.filter { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: 1rem; }
        label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
        input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: .3rem; background: var(--bg); color: var(--fg); }
        button { cursor: pointer; background: var(--panel); }
        button.danger { border-color: var(--bad); color: var(--bad); }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: .5rem; background: var(--bg); padding: .3rem .6rem; z-index: 1; }
        .signin { max-width: 24rem; margin: 3rem auto; padding: 1rem; }
        .signin form { display: flex; flex-direction: column; gap: .8rem; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; }
        ol#timeline { padding-left: 1.2rem; }
        @media (max-width: 40rem) { main { padding: .6rem; } th, td { padding: .25rem .3rem; } }
        """

    /// Live updates only: every page works without it. On a page whose `main` has `data-live`
    /// (an event stream's URL), each event (debounced) fetches the page again and swaps the
    /// contents of `main`, counting swaps in `body[data-live-swaps]`; `pre#logs[data-follow]` is
    /// appended to from the job's log stream, and its `end` refreshes the page but not the logs.
    /// Leaving the page closes its streams.
    private static let script = """
        (function () {
          "use strict";
          var main = document.getElementById("main");
          if (!main || !window.EventSource || !window.fetch) return;
          var timer = null;
          var following = false;
          // Streams end with the page: a browser keeps few connections per host, and a stream
          // left open would hold one.
          var streams = [];
          window.addEventListener("pagehide", function () { streams.forEach(function (stream) { stream.close(); }); });
          function editing() {
            var active = document.activeElement;
            return active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
          }
          function swap() {
            timer = null;
            if (editing()) { schedule(); return; }
            fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
              .then(function (text) {
                if (text === null) return;
                // Someone began typing while the page was fetched: keep what they type.
                if (editing()) { schedule(); return; }
                var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
                if (!fresh) return;
                var logs = document.getElementById("logs");
                var freshLogs = fresh.querySelector("#logs");
                if (following && logs && freshLogs) freshLogs.replaceWith(logs);
                main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
                var swaps = parseInt(document.body.dataset.liveSwaps || "0", 10) + 1;
                document.body.dataset.liveSwaps = String(swaps);
              })
              .catch(function () {});
          }
          function schedule() { if (timer === null) timer = setTimeout(swap, 300); }
          var live = main.getAttribute("data-live");
          if (live) {
            var events = new EventSource(live);
            streams.push(events);
            events.addEventListener("event", schedule);
            events.addEventListener("changed", schedule);
          }
          var logs = document.getElementById("logs");
          var follow = logs && logs.getAttribute("data-follow");
          if (follow) {
            following = true;
            var fresh = true;
            var stream = new EventSource(follow);
            streams.push(stream);
            var add = function (event) {
              var target = document.getElementById("logs");
              if (fresh) { target.textContent = ""; fresh = false; }
              target.textContent += event.data + "\\n";
            };
            stream.addEventListener("stdout", add);
            stream.addEventListener("stderr", add);
            stream.addEventListener("end", function () { stream.close(); swap(); });
            stream.addEventListener("dropped", function () { stream.close(); following = false; });
          }
        })();
        """
}
