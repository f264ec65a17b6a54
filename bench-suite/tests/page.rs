//! report.html as a reader uses it: the page of a `--quick` run holds every figure of
//! report.md, and in a real browser (a headless Chromium driven over WebDriver) it loads without
//! an error, filters, sorts and shows a point's value under the cursor.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The result folder of one `--quick` run, shared by the tests of this file.
fn quick_run() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // In cargo's folder for integration tests' files, replaced by each run: nothing is
        // left in the system's temporary folder.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-quick-run");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(env!("CARGO_BIN_EXE_cachebench"))
            .args(["--quick", "--no-progress", "--out"])
            .arg(&dir)
            .output()
            .expect("cachebench runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let last = String::from_utf8_lossy(&out.stderr);
        let last = last.lines().last().unwrap_or_default().to_owned();
        assert!(
            last.contains("report.html"),
            "the last line names the page: {last}"
        );
        dir
    })
}

fn read(file: &str) -> String {
    std::fs::read_to_string(quick_run().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Each number written in `text`, with how often.
fn numbers(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut cur = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) {
            cur.push(c);
        } else if !cur.is_empty() {
            *out.entry(cur.trim_end_matches('.').to_owned()).or_insert(0) += 1;
            cur.clear();
        }
    }
    out
}

/// The page's text outside its charts, scripts and styles, tags removed and entities decoded.
fn page_text(html: &str) -> String {
    let mut text = html.to_owned();
    for (open, close) in [
        ("<svg", "</svg>"),
        ("<script", "</script>"),
        ("<style", "</style>"),
    ] {
        while let Some(a) = text.find(open) {
            let b = text[a..]
                .find(close)
                .map_or(text.len(), |b| a + b + close.len());
            text.replace_range(a..b, " ");
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// report.md without its links' and images' targets (file names, which the page links too).
fn md_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(i) = rest.find("](") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find(')').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

#[test]
fn every_figure_of_report_md_is_on_the_page_outside_its_charts() {
    let md = numbers(&md_text(&read("report.md")));
    let page = numbers(&page_text(&read("report.html")));
    assert!(
        md.len() > 200,
        "report.md has {} distinct numbers",
        md.len()
    );
    let missing: Vec<String> = md
        .iter()
        .filter(|(n, k)| page.get(*n).copied().unwrap_or(0) < **k)
        .map(|(n, k)| format!("{n} ×{k} (page: {})", page.get(n).copied().unwrap_or(0)))
        .collect();
    assert!(missing.is_empty(), "not on the page: {missing:?}");
}

#[test]
fn the_page_is_one_self_contained_file_with_every_section_table_and_chart() {
    let html = read("report.html");
    let md = read("report.md");
    for banned in ["http://", "https://", "src=", "@import", "url("] {
        let outside: Vec<&str> = html
            .match_indices(banned)
            .map(|(i, _)| &html[i.saturating_sub(40)..(i + 40).min(html.len())])
            .filter(|around| !around.contains("xmlns=\"http://www.w3.org/2000/svg\""))
            .collect();
        assert!(outside.is_empty(), "the page reaches outside: {outside:?}");
    }
    for title in md.lines().filter_map(|l| l.strip_prefix("## ")) {
        assert!(
            html.contains(&format!("{}</h2>", title.replace('&', "&amp;"))),
            "section {title}"
        );
    }
    let tables = md.lines().filter(|l| l.starts_with("|---")).count();
    assert_eq!(
        html.matches("<table>").count(),
        tables + 1,
        "every table, and the run's"
    );
    // The retention charts' timelines of the two clocks end at different times: said, with
    // where each ends.
    assert!(
        md.contains("In the charts their timelines are dashed and end at ")
            && md.contains(" mean TTLs, where those on the hand-moved clock run to "),
        "the retention section says why its timelines end apart"
    );
    for e in std::fs::read_dir(quick_run()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if let Some(chart) = name.strip_suffix(".svg") {
            assert!(
                html.contains(&format!("<figure class=\"chart\" id=\"{chart}\"")),
                "{name} is on the page"
            );
        }
    }
}

// ---- a real browser --------------------------------------------------------------------------

/// A WebDriver session with a headless Chromium, ended (and its driver stopped) on drop.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// Chromium and ChromeDriver from the distribution's packages, or `None` with a SKIPPED line
    /// where they are not installed (CI must have them).
    fn start(test: &str) -> Option<Browser> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let driver = Path::new("/usr/bin/chromedriver");
        let (Some(chromium), true) = (chromium, driver.exists()) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide chromium and chromium-driver"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no chromium and chromedriver (packages chromium, chromium-driver)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser {
            driver: child,
            port,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.call("GET", "/status", None).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let v = browser
            .call("POST", "/session", Some(caps))
            .expect("a browser session");
        browser.session = v["sessionId"].as_str().expect("a session id").to_owned();
        Some(browser)
    }

    /// One WebDriver command: its `value`, or the error it answered.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        // ChromeDriver says `Connection: close` and keeps the connection open: the body is
        // read to its Content-Length.
        let mut reply = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let (head, body_at) = loop {
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the driver closed the connection".into());
            }
            reply.extend_from_slice(&buf[..n]);
            if let Some(i) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
                break (String::from_utf8_lossy(&reply[..i]).into_owned(), i + 4);
            }
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or("no Content-Length")?;
        while reply.len() < body_at + length {
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the driver closed the connection".into());
            }
            reply.extend_from_slice(&buf[..n]);
        }
        let json = String::from_utf8_lossy(&reply[body_at..body_at + length]);
        let v: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
        if head.starts_with("HTTP/1.1 200") {
            Ok(v["value"].clone())
        } else {
            Err(format!("{method} {path}: {}", v["value"]))
        }
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns its value.
    fn run(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The element `css` selects (the first).
    fn find(&self, css: &str) -> Value {
        self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )
    }

    /// Clicks the element `css` selects, as a user would (scrolled into view first).
    fn click(&self, css: &str) {
        let e = self.find(css);
        let id = e
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap();
        let id = id.as_str().unwrap();
        self.session_call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// The browser's console messages at level SEVERE since the last call.
    fn errors(&self) -> Vec<String> {
        let log = self.session_call("POST", "/se/log", Some(json!({"type": "browser"})));
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Whether every element `css` selects is hidden, and how many it selects.
const HIDDEN: &str = "const es = [...document.querySelectorAll(arguments[0])];
    return [es.length, es.filter(e => e.getClientRects().length === 0).length];";

#[test]
fn in_a_real_browser_the_page_loads_clean_filters_sorts_and_shows_values() {
    let dir = quick_run();
    let Some(b) =
        Browser::start("in_a_real_browser_the_page_loads_clean_filters_sorts_and_shows_values")
    else {
        return;
    };
    let started = Instant::now();
    let url = format!("file://{}", dir.join("report.html").display());
    b.session_call("POST", "/url", Some(json!({ "url": url })));
    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // Every table of report.md, every chart the run wrote: on the page, as the browser parsed it.
    let md = read("report.md");
    let counts = b.run(
        "return [document.querySelectorAll('main table').length,
                 document.querySelectorAll('figure.chart svg').length]",
        json!([]),
    );
    let svgs = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    let tables = md.lines().filter(|l| l.starts_with("|---")).count();
    assert_eq!(counts, json!([tables, svgs]));

    // The filter: unchecking lru hides its rows, columns, series and charts everywhere; the
    // others stay; checking it again brings them back.
    let lru = "[data-strategy=lru], g.series[data-series=lru]";
    assert_eq!(b.run(HIDDEN, json!([lru]))[1], 0);
    b.click("#filter input[value=lru]");
    let hidden = b.run(HIDDEN, json!([lru]));
    assert!(
        hidden[0].as_u64().unwrap() > 10 && hidden[0] == hidden[1],
        "lru hidden everywhere: {hidden}"
    );
    assert_eq!(b.run(HIDDEN, json!(["tr[data-strategy=moka]"]))[1], 0);
    b.click("#filter input[value=lru]");
    assert_eq!(b.run(HIDDEN, json!([lru]))[1], 0);

    // Sorting: the footprint's first table by its "total per entry (B)" column, ascending, then
    // descending; numbers as numbers.
    let column = "const t = document.querySelector('#s1 table');
        const i = [...t.tHead.rows[0].cells].findIndex(c => c.textContent.startsWith(arguments[0]));
        return [...t.tBodies[0].rows].map(r => r.cells[i].textContent);";
    let head = "#s1 table thead th:nth-child(4)";
    assert_eq!(
        b.run(
            "return document.querySelector(arguments[0]).textContent",
            json!([head])
        ),
        "total per entry (B)"
    );
    let values = |v: Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().parse::<f64>().unwrap())
            .collect()
    };
    b.click(head);
    let up = values(b.run(column, json!(["total per entry"])));
    assert!(up.len() > 5 && up.is_sorted(), "ascending: {up:?}");
    b.click(head);
    let down = values(b.run(column, json!(["total per entry"])));
    assert!(
        down.iter().rev().is_sorted() && down != up,
        "descending: {down:?}"
    );

    // The value under the cursor: the footprint chart's ttlfifo point, from report.json.
    let report: Value = serde_json::from_str(&read("report.json")).unwrap();
    let row = report["footprint"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["strategy"] == "ttlfifo" && r["shape"] == "article")
        .expect("a ttlfifo footprint row");
    let at = b.run(
        "const p = document.querySelector('#footprint g.series[data-series=ttlfifo] > [data-tip]');
         p.scrollIntoView({block: 'center'});
         const r = p.getBoundingClientRect();
         return [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)];",
        json!([]),
    );
    b.session_call(
        "POST",
        "/actions",
        Some(
            json!({"actions": [{"type": "pointer", "id": "mouse", "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport", "x": at[0], "y": at[1]}
            ]}]}),
        ),
    );
    let tip = b.run(
        "const t = document.getElementById('tip'); return t.hidden ? null : t.textContent;",
        json!([]),
    );
    let tip = tip
        .as_str()
        .unwrap_or_else(|| panic!("no value under the cursor at {at}"));
    let (name, xy) = tip.split_once(": ").unwrap();
    assert_eq!(name, "ttlfifo", "{tip}");
    let xy: Vec<f64> = xy
        .split(", ")
        .map(|p| p[2..].parse::<f64>().unwrap())
        .collect();
    assert_eq!(xy[0], row["entries"].as_f64().unwrap(), "{tip}");
    let want = row["total_bytes_per_entry"].as_f64().unwrap();
    assert!((xy[1] - want).abs() <= want * 1e-5, "{tip}: want {want}");

    // Two strategies on one chart: the retention timelines of ttlfifo and weakfifo alone.
    let chart = "#retention_uniform_ttl";
    b.click(&format!(
        "{chart} select[aria-label=compare] option[value=ttlfifo]"
    ));
    b.click(&format!(
        "{chart} select[aria-label=with] option[value=weakfifo]"
    ));
    let shown = b.run(
        "return [...document.querySelectorAll(arguments[0] + ' g.series')]
            .filter(g => g.getClientRects().length > 0).map(g => g.dataset.series)",
        json!([chart]),
    );
    assert_eq!(shown, json!(["weakfifo", "ttlfifo"]));

    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let _ = writeln!(
        std::io::stderr(),
        "browser checks took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Each series of an SVG chart of ours: its name and its style (colour, dashed, marker).
fn styles(svg: &str) -> Vec<(String, (String, bool, String))> {
    svg.split("<g class=\"series\" data-series=\"")
        .skip(1)
        .map(|g| {
            let name = g[..g.find('"').unwrap()].to_owned();
            let attr = |a: &str| {
                let at = g.find(&format!("{a}=\"")).unwrap() + a.len() + 2;
                g[at..at + g[at..].find('"').unwrap()].to_owned()
            };
            let marker = g[g.find("/>").unwrap() + 2..]
                .trim_start()
                .trim_start_matches('<')
                .split(' ')
                .next()
                .unwrap()
                .to_owned();
            (
                name,
                (attr("stroke"), g.contains("stroke-dasharray"), marker),
            )
        })
        .collect()
}

#[test]
fn no_two_series_of_a_chart_share_a_style_and_a_strategy_keeps_its_colour_in_every_chart() {
    let mut seen: HashMap<String, (String, String, String)> = HashMap::new();
    let mut charts = 0;
    for e in std::fs::read_dir(quick_run()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "svg") {
            continue;
        }
        charts += 1;
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let series = styles(&std::fs::read_to_string(&path).unwrap());
        assert!(!series.is_empty(), "{file} has series");
        for (i, (name, style)) in series.iter().enumerate() {
            if let Some((other, _)) = series[..i].iter().find(|(_, s)| s == style) {
                panic!("{file}: {name} and {other} share {style:?}");
            }
            // The per-strategy timelines name their lines by what they count, not by strategy.
            if file.starts_with("retention_") && file.matches('_').count() > 2 {
                continue;
            }
            let (color, _, marker) = style;
            let was = seen
                .entry(name.clone())
                .or_insert_with(|| (color.clone(), marker.clone(), file.clone()));
            assert_eq!(
                (&was.0, &was.1),
                (color, marker),
                "{name}: in {file} and {}",
                was.2
            );
        }
    }
    assert!(
        charts > 10 && seen.len() > 8,
        "{charts} charts, {} names",
        seen.len()
    );
}
