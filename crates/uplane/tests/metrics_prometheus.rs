//! `/metrics` from a running daemon, checked with a strict parser of the Prometheus text
//! exposition format (0.0.4), not by string matching: every line is a comment, HELP/TYPE
//! or a valid sample; a family's TYPE comes before its samples, once; samples of a family
//! are contiguous and no series repeats; counters are non-negative and, while a capture is
//! replayed in a loop, grow between two scrapes (and never go down).
//!
//! The daemon listens on `127.0.0.1:0`; the port it got is in `show version --json` and on
//! its stderr.

mod cli_support;

use cli_support::{capture, u, wait_for, TempDir, Uplane, TIMEOUT};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One series: `name{labels}` (labels sorted) and its value.
type Series = BTreeMap<String, f64>;

fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s
            .parse::<f64>()
            .map_err(|_| format!("{s:?} is not a float")),
    }
}

type Labels = Vec<(String, String)>;

/// Parses `{a="x",b="y"}` at the start of `s`; returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    let mut out = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((out, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        out.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or } after a label".into());
        }
    }
}

/// The family a sample belongs to, given the TYPEs declared.
fn family<'a>(name: &'a str, types: &HashMap<String, Kind>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_total", "_created", "_count", "_sum", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.contains_key(base) {
                return Some(base);
            }
        }
    }
    None
}

/// Strictly parses an exposition; every sample must belong to a TYPEd family (uplane
/// declares all of them). Returns the series and each family's kind.
fn parse_exposition(text: &str) -> Result<(Series, HashMap<String, Kind>), String> {
    let mut types: HashMap<String, Kind> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut series = Series::new();
    let mut seen_samples: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut finished: HashSet<String> = HashSet::new();
    if !text.ends_with('\n') {
        return Err("the exposition must end with a newline".into());
    }
    for (n, line) in text.lines().enumerate() {
        let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let words: Vec<&str> = c.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["TYPE", name, kind] => {
                    if !is_metric_name(name) {
                        return Err(at("bad metric name".into()));
                    }
                    let k = match *kind {
                        "counter" => Kind::Counter,
                        "gauge" => Kind::Gauge,
                        "histogram" => Kind::Histogram,
                        "summary" => Kind::Summary,
                        "untyped" => Kind::Untyped,
                        _ => return Err(at("unknown type".into())),
                    };
                    if types.insert(name.to_string(), k).is_some() {
                        return Err(at("second TYPE for a family".into()));
                    }
                    if seen_samples.contains(*name) {
                        return Err(at("TYPE after the family's samples".into()));
                    }
                }
                ["TYPE", ..] => return Err(at("TYPE needs a name and a type".into())),
                ["HELP", name, ..] if !is_metric_name(name) || !helps.insert(name.to_string()) => {
                    return Err(at("bad or repeated HELP".into()));
                }
                _ => {} // a plain comment
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(at("bad metric name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("expected a space before the value".into()))?;
        let mut parts = rest.split(' ');
        let value = parse_value(parts.next().unwrap_or("")).map_err(at)?;
        if let Some(ts) = parts.next() {
            ts.parse::<i64>().map_err(|_| at("bad timestamp".into()))?;
        }
        if parts.next().is_some() {
            return Err(at("trailing fields".into()));
        }
        let fam = family(name, &types)
            .ok_or_else(|| at("sample before (or without) its TYPE".into()))?
            .to_string();
        if current.as_deref() != Some(fam.as_str()) {
            if finished.contains(&fam) {
                return Err(at("samples of a family are not contiguous".into()));
            }
            if let Some(prev) = current.replace(fam.clone()) {
                finished.insert(prev);
            }
        }
        seen_samples.insert(fam.clone());
        if types[&fam] == Kind::Counter && (value.is_nan() || value < 0.0) {
            return Err(at("a counter must be a non-negative number".into()));
        }
        let mut labels = labels;
        labels.sort();
        let key = format!(
            "{name}{{{}}}",
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        if series.insert(key, value).is_some() {
            return Err(at("the same series twice".into()));
        }
    }
    Ok((series, types))
}

#[test]
fn the_parser_is_strict() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\na_total{x=\"2\\\"\"} 4 1700000000\n# TYPE g gauge\ng -1.5\n";
    let (s, _) = parse_exposition(good).unwrap();
    assert_eq!(s.len(), 3);
    for bad in [
        "a 1\n",                                           // no TYPE
        "# TYPE a counter\na -1\n",                        // negative counter
        "# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n",  // repeated series
        "# TYPE a gauge\na 1\n# TYPE a gauge\n",           // second TYPE
        "# TYPE a gauge\na one\n",                         // not a number
        "# TYPE a gauge\na{x=1} 1\n",                      // unquoted label
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na 2\n", // not contiguous
        "# TYPE a gauge\na 1",                             // no final newline
        "# TYPE 1a gauge\n",                               // bad name
        "# TYPE a gauge\na  1\n",                          // two spaces
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted {bad:?}");
    }
}

/// GET `path`: (status line, content type, body).
fn get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.lines().next().unwrap_or("").to_string();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_string();
    (status, ctype, body.to_string())
}

fn scrape(addr: SocketAddr) -> Series {
    let (status, ctype, body) = get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let (series, types) = parse_exposition(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    // Every counter family uplane exports; counters only ever grow.
    for fam in [
        "uplane_interface_rx_packets_total",
        "uplane_interface_tx_bytes_total",
        "uplane_node_vectors_total",
        "uplane_node_calls_total",
        "uplane_errors_total",
        "uplane_buffer_alloc_failures_total",
    ] {
        assert_eq!(types.get(fam), Some(&Kind::Counter), "{fam}");
    }
    assert_eq!(types.get("uplane_buffers"), Some(&Kind::Gauge));
    series
}

#[test]
fn metrics_parse_and_counters_grow_while_traffic_flows() {
    let dir = TempDir::new("metrics");
    // The capture replayed forever at its own pace into a pg interface.
    let d = Uplane::start(
        &dir.0,
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:0\"\n[buffers]\ncount = 4096\n\
             [[interface]]\nname = \"in\"\ndriver = \"pcap\"\nrx-file = \"{}\"\nrx-loop = true\ntiming = \"capture\"\naddress = [\"10.255.0.1/24\"]\n\
             [[interface]]\nname = \"out\"\ndriver = \"pg\"\naddress = [\"10.254.0.1/24\"]\n\
             [[neighbor]]\ninterface = \"out\"\nip = \"10.254.0.2\"\nmac = \"02:00:00:00:00:99\"\n\
             [[route]]\nprefix = \"0.0.0.0/0\"\nvia = \"10.254.0.2\"\n",
            capture().display()
        ),
    );
    let addr: SocketAddr = d.json(&["show", "version"])["metrics"]
        .as_str()
        .expect("show version names the metrics address")
        .parse()
        .unwrap();
    assert_ne!(addr.port(), 0);
    assert!(
        d.stderr()
            .contains(&format!("metrics at http://{addr}/metrics")),
        "{}",
        d.stderr()
    );

    let rx = "uplane_interface_rx_packets_total{interface=\"in\"}";
    let vectors = "uplane_node_vectors_total{node=\"pcap-input\"}";
    let first = wait_for("a first packet", || {
        let s = scrape(addr);
        (s[rx] > 0.0).then_some(s)
    });
    let second = wait_for("counters to grow", || {
        let s = scrape(addr);
        (s[rx] > first[rx] && s[vectors] > first[vectors]).then_some(s)
    });
    for (k, v) in &first {
        if k.contains("_total{") || k.ends_with("_total{}") {
            let now = second.get(k).unwrap_or_else(|| panic!("{k} disappeared"));
            assert!(now >= v, "{k} went down: {v} -> {now}");
        }
    }
    // The same numbers as the CLI (which reads the same counters a moment later).
    let cli_rx = u(&d.interface("in").unwrap(), "rx_packets") as f64;
    assert!(
        cli_rx >= second[rx],
        "CLI {cli_rx} < metrics {}",
        second[rx]
    );

    let (status, _, _) = get(addr, "/nope");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    d.ok(&["show", "version"]);
}
