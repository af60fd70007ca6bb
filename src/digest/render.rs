//! The digest as a mail: subject, a plain-text part and a simple HTML part
//! (every value escaped) from a [`Summary`]. Times are shown in the
//! digest's zone. Pure, so the golden test pins the exact text.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::builder::{EmailLine, Summary};
use super::narrative::plural;

/// Emails listed under one investor before "… and N more".
pub const LINES_PER_INVESTOR: usize = 15;

/// What a window renders to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render(s: &Summary, start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> Rendered {
    let day = end.with_timezone(&tz).format("%a %-d %b %Y").to_string();
    let totals = if s.emails == 0 {
        "no investor email".to_string()
    } else {
        format!(
            "{} with {}",
            plural(s.emails, "email"),
            plural(s.investors.len(), "investor")
        )
    };
    Rendered {
        subject: format!("Investor email digest, {day}: {totals}"),
        text: text(s, start, end, tz, &day),
        html: html(s, start, end, tz, &day),
    }
}

fn window_line(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let f = |t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%a %-d %b %Y %H:%M")
            .to_string()
    };
    format!("{} to {} ({})", f(start), f(end), tz.name())
}

fn totals_line(s: &Summary) -> String {
    format!(
        "{} with {}: {} received, {} sent.",
        plural(s.emails, "email"),
        plural(s.investors.len(), "investor"),
        s.received,
        s.sent
    )
}

fn line_time(l: &EmailLine, tz: Tz) -> String {
    Utc.timestamp_millis_opt(l.date_ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%a %-d %b %H:%M")
        .to_string()
}

fn direction(outbound: bool) -> &'static str {
    if outbound {
        "sent"
    } else {
        "received"
    }
}

const NO_ACTIVITY: &str = "No investor email in this period.";

fn text(s: &Summary, start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, day: &str) -> String {
    let mut out = format!("Investor email digest, {day}\n");
    out += &format!("Window: {}\n\n", window_line(start, end, tz));
    if s.emails == 0 {
        out += NO_ACTIVITY;
        out += "\n";
        return out;
    }
    out += &totals_line(s);
    out += "\n\nBY TEAM MEMBER\n\n";
    for m in &s.members {
        out += &format!("{} <{}>\n{}\n\n", m.name, m.email, m.narrative);
    }
    out += "BY INVESTOR\n";
    for inv in &s.investors {
        out += &format!(
            "\n{}: {} ({} received, {} sent)\n",
            inv.name,
            plural(inv.emails.len(), "email"),
            inv.received,
            inv.sent
        );
        for l in inv.emails.iter().take(LINES_PER_INVESTOR) {
            out += &format!(
                "  - {}  {:<8}  {}  [{}]\n",
                line_time(l, tz),
                direction(l.outbound),
                l.subject,
                l.members.join(", ")
            );
        }
        if inv.emails.len() > LINES_PER_INVESTOR {
            out += &format!("  ... and {} more\n", inv.emails.len() - LINES_PER_INVESTOR);
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(s: &Summary, start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, day: &str) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n");
    out += &format!("<h1>Investor email digest, {}</h1>\n", escape(day));
    out += &format!("<p>Window: {}</p>\n", escape(&window_line(start, end, tz)));
    if s.emails == 0 {
        out += &format!("<p>{NO_ACTIVITY}</p>\n</body></html>\n");
        return out;
    }
    out += &format!(
        "<p>{}</p>\n<h2>By team member</h2>\n",
        escape(&totals_line(s))
    );
    for m in &s.members {
        out += &format!(
            "<h3>{} &lt;{}&gt;</h3>\n<p>{}</p>\n",
            escape(&m.name),
            escape(&m.email),
            escape(&m.narrative)
        );
    }
    out += "<h2>By investor</h2>\n";
    for inv in &s.investors {
        out += &format!(
            "<h3>{}: {} ({} received, {} sent)</h3>\n<ul>\n",
            escape(&inv.name),
            plural(inv.emails.len(), "email"),
            inv.received,
            inv.sent
        );
        for l in inv.emails.iter().take(LINES_PER_INVESTOR) {
            out += &format!(
                "<li>{} {}: {} [{}]</li>\n",
                escape(&line_time(l, tz)),
                direction(l.outbound),
                escape(&l.subject),
                escape(&l.members.join(", "))
            );
        }
        if inv.emails.len() > LINES_PER_INVESTOR {
            out += &format!(
                "<li>... and {} more</li>\n",
                inv.emails.len() - LINES_PER_INVESTOR
            );
        }
        out += "</ul>\n";
    }
    out += "</body></html>\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
