//! Every number the report, the plan and the bench table print goes through here, so one
//! quantity always reads the same.

/// Bytes in decimal units: `812.0 kB`, `63.6 MB`, `2.67 GB` (negative figures keep their sign).
pub fn bytes(b: f64) -> String {
    let a = b.abs();
    if a >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if a >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

/// One decimal: `127.3`.
pub fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// Two decimals: `3.00`.
pub fn f2(v: f64) -> String {
    format!("{v:.2}")
}

/// Three decimals: `0.692`.
pub fn f3(v: f64) -> String {
    format!("{v:.3}")
}

/// `part` as a percentage of `whole`; zero when `whole` is zero.
pub fn percent_of(part: f64, whole: f64) -> f64 {
    if whole == 0.0 {
        0.0
    } else {
        100.0 * part / whole
    }
}

/// A percentage with `decimals` decimals and the sign: `90.0 %`.
pub fn percent(p: f64, decimals: usize) -> String {
    format!("{p:.decimals$} %")
}

/// A time per operation: `82.6 ns`, `1.53 µs`.
pub fn nanos(ns: f64) -> String {
    if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// A ratio to the fastest: `×1.00`; `×–` when it cannot be computed (a zero or missing
/// reference).
pub fn ratio(r: f64) -> String {
    if r.is_finite() {
        format!("×{r:.2}")
    } else {
        "×–".to_owned()
    }
}

/// An optional figure, `–` when absent.
pub fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pick_the_unit_by_size() {
        assert_eq!(bytes(2.67e9), "2.67 GB");
        assert_eq!(bytes(63_631_608.0), "63.6 MB");
        assert_eq!(bytes(128.0), "0.1 kB");
        assert_eq!(bytes(-2_500_000.0), "-2.5 MB");
    }

    #[test]
    fn ratios_and_times_read_as_the_tables_print_them() {
        assert_eq!(ratio(1.0), "×1.00");
        assert_eq!(ratio(f64::NAN), "×–");
        assert_eq!(ratio(f64::INFINITY), "×–");
        assert_eq!(nanos(82.64), "82.6 ns");
        assert_eq!(nanos(1_530.0), "1.53 µs");
        assert_eq!(percent(percent_of(1.0, 3.0), 2), "33.33 %");
        assert_eq!(percent_of(1.0, 0.0), 0.0);
        assert_eq!(or_dash(None), "–");
    }
}
