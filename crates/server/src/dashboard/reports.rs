//! Reports: transactions per day and channel over a date range — how many,
//! how many succeeded and what they moved — as a table, two charts drawn on the
//! server as SVG (transactions per day for each channel, and each channel's
//! success rate), and the same figures as CSV.

use super::auth::Signed;
use super::window::{self, Dates, Window};
use super::{layout, Dashboard};
use crate::routes::rupiah_text;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use gerbang_app::transactions::report::{self, ReportRow};
use gerbang_app::transactions::Kind;
use gerbang_core::user::Scope;
use maud::{html, Markup};
use plotters::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Once};

/// The font the charts' text is measured with (their SVG names `sans-serif`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Channels drawn in the chart of transactions per day; the rest are summed.
const CHARTED_CHANNELS: usize = 6;
const CHART_SIZE: (u32, u32) = (900, 340);

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a report cannot be made");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the report cannot be made now; try again",
    )
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Ask {
    kind: String,
    #[serde(flatten)]
    dates: Dates,
}

impl Ask {
    fn query(&self, window: &Window) -> String {
        format!(
            "kind={}&from={}&to={}",
            layout::urlencode(&self.kind),
            window::text(window.first),
            window::text(window.last)
        )
    }
}

/// The report an ask names, or what is wrong with the ask.
async fn made(
    d: &Dashboard,
    scope: &Scope,
    ask: &Ask,
) -> Result<Result<(Vec<ReportRow>, Window), String>, Response> {
    let kind = match ask.kind.trim() {
        "" => None,
        k => match Kind::parse(k) {
            Some(k @ (Kind::Bill | Kind::Payout)) => Some(k),
            _ => return Ok(Err(format!("{k:?} is not bill or payout"))),
        },
    };
    let today = d.app.now().jakarta().date();
    let window = match Window::of(&ask.dates, today) {
        Ok(w) => w,
        Err(problem) => return Ok(Err(problem)),
    };
    let (from, until) = window.instants();
    match report::daily(&d.app, scope, kind, from, until).await {
        Ok(rows) => Ok(Ok((rows, window))),
        Err(e) => Err(failed(e)),
    }
}

/// A channel's name in the report: its code, with its kind.
fn channel_label(r: &ReportRow) -> String {
    let channel = if r.channel.is_empty() {
        "—"
    } else {
        &r.channel
    };
    format!("{} {channel}", r.kind.as_str())
}

fn form(ask: &Ask, window: Option<&Window>) -> Markup {
    let from = window.map_or_else(
        || ask.dates.from.clone().unwrap_or_default(),
        |w| window::text(w.first),
    );
    let to = window.map_or_else(
        || ask.dates.to.clone().unwrap_or_default(),
        |w| window::text(w.last),
    );
    html! {
        form.filters method="get" action="/dashboard/reports" {
            label { "Kind"
                select name="kind" {
                    option value="" { "Bills and payouts" }
                    option value="bill" selected[ask.kind == "bill"] { "Bills" }
                    option value="payout" selected[ask.kind == "payout"] { "Payouts" }
                }
            }
            label { "From" input type="date" name="from" value=(from); }
            label { "To" input type="date" name="to" value=(to); }
            button type="submit" { "Show" }
        }
    }
}

pub async fn show(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<Ask>,
) -> Response {
    let (rows, window) = match made(&d, &signed.live.session.scope, &ask).await {
        Ok(Ok(made)) => made,
        Ok(Err(problem)) => {
            let content = html! {
                (form(&ask, None))
                p.error role="alert" { "No report: " (problem) "." }
            };
            let page = layout::page("Reports", "/dashboard/reports", &signed, content);
            return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
        }
        Err(response) => return response,
    };
    let query = ask.query(&window);
    let total: i64 = rows.iter().map(|r| r.count).sum();
    let succeeded: i64 = rows.iter().map(|r| r.succeeded).sum();
    let moved: i64 = rows.iter().map(|r| r.succeeded_minor).sum();
    let content = html! {
        (form(&ask, Some(&window)))
        dl.summary data-testid="report-summary" {
            dt { "Transactions" } dd { (total) }
            dt { "Succeeded" } dd { (succeeded) " (" (percent(succeeded, total)) ")" }
            dt { "Moved by those that succeeded" } dd { (rupiah_text(moved)) }
        }
        @if rows.is_empty() {
            p { "No transaction in this range." }
        } @else {
            figure {
                img src={ "/dashboard/reports/volume.svg?" (query) } alt="Transactions per day, per channel" width=(CHART_SIZE.0) height=(CHART_SIZE.1);
            }
            figure {
                img src={ "/dashboard/reports/success.svg?" (query) } alt="Success rate per channel" width=(CHART_SIZE.0) height=(CHART_SIZE.1);
            }
        }
        p { a.button.secondary href={ "/dashboard/reports.csv?" (query) } { "Download as CSV" } }
        table data-testid="report" {
            thead { tr { th { "Day" } th { "Kind" } th { "Channel" } th.num { "Transactions" } th.num { "Succeeded" } th.num { "Rate" } th.num { "Moved" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td.nowrap { (window::text(r.day)) }
                        td { (r.kind.as_str()) }
                        td { (r.channel) }
                        td.num { (r.count) }
                        td.num { (r.succeeded) }
                        td.num { (percent(r.succeeded, r.count)) }
                        td.num { (rupiah_text(r.succeeded_minor)) }
                    }
                }
            }
        }
    };
    Html(layout::page("Reports", "/dashboard/reports", &signed, content).into_string())
        .into_response()
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "—".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

pub async fn csv(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<Ask>,
) -> Response {
    let scope = &signed.live.session.scope;
    let (rows, window) = match made(&d, scope, &ask).await {
        Ok(Ok(made)) => made,
        Ok(Err(problem)) => return (StatusCode::BAD_REQUEST, problem).into_response(),
        Err(response) => return response,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut records = vec![[
        "day",
        "kind",
        "channel",
        "transactions",
        "succeeded",
        "success_rate",
        "succeeded_amount",
    ]
    .map(String::from)];
    for r in &rows {
        records.push([
            window::text(r.day),
            r.kind.as_str().into(),
            super::statements::inert(&r.channel),
            r.count.to_string(),
            r.succeeded.to_string(),
            format!("{:.4}", r.success_rate()),
            crate::routes::rupiah(r.succeeded_minor),
        ]);
    }
    for record in records {
        if let Err(e) = w.write_record(record) {
            return failed(e);
        }
    }
    let detail = format!(
        "{} to {}{}",
        window::text(window.first),
        window::text(window.last),
        if ask.kind.is_empty() {
            String::new()
        } else {
            format!(", {}", ask.kind)
        }
    );
    let entry = signed.audit(scope, "report_download", &detail);
    if let Err(e) = gerbang_app::users::audit::record(&d.app, &entry).await {
        return failed(e);
    }
    match w.into_inner() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"gerbang-report.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            // Drawn from data only; nothing in it runs, even if opened alone.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body,
    )
        .into_response()
}

fn register_font() {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::error!("the charts' font cannot be read");
        }
    });
}

/// A chart's SVG, or why it could not be drawn.
fn draw(
    paint: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, String> {
    register_font();
    let mut out = String::new();
    {
        let area = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        paint(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

const PALETTE: [RGBColor; 7] = [
    RGBColor(11, 94, 168),
    RGBColor(214, 96, 36),
    RGBColor(32, 142, 84),
    RGBColor(150, 60, 160),
    RGBColor(190, 30, 60),
    RGBColor(90, 110, 120),
    RGBColor(170, 150, 20),
];

/// Transactions per day, a line per channel (the busiest ones; the rest summed).
fn volume_chart(rows: &[ReportRow], window: &Window) -> Result<String, String> {
    let mut by_channel: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for r in rows {
        *by_channel
            .entry(channel_label(r))
            .or_default()
            .entry(r.day.to_julian_day())
            .or_default() += r.count;
    }
    let mut channels: Vec<(String, BTreeMap<i32, i64>)> = by_channel.into_iter().collect();
    channels.sort_by_key(|(_, days)| std::cmp::Reverse(days.values().sum::<i64>()));
    if channels.len() > CHARTED_CHANNELS {
        let rest = channels.split_off(CHARTED_CHANNELS - 1);
        let mut other: BTreeMap<i32, i64> = BTreeMap::new();
        for (_, days) in rest {
            for (day, n) in days {
                *other.entry(day).or_default() += n;
            }
        }
        channels.push(("other".into(), other));
    }
    let (first, last) = (window.first.to_julian_day(), window.last.to_julian_day());
    let top = channels
        .iter()
        .flat_map(|(_, days)| days.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    draw(|area| {
        let mut chart = ChartBuilder::on(area)
            .caption("Transactions per day", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(first..last.max(first + 1), 0i64..top + top / 10 + 1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|day| {
                time::Date::from_julian_day(*day)
                    .map(|d| format!("{:02}-{:02}", u8::from(d.month()), d.day()))
                    .unwrap_or_default()
            })
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, days)) in channels.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points = (first..=last).map(|day| (day, days.get(&day).copied().unwrap_or(0)));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.2))
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// Each channel's success rate over the range, a bar each.
fn success_chart(rows: &[ReportRow]) -> Result<String, String> {
    let mut by_channel: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = by_channel.entry(channel_label(r)).or_default();
        e.0 += r.count;
        e.1 += r.succeeded;
    }
    let bars: Vec<(String, f64)> = by_channel
        .into_iter()
        .map(|(name, (count, ok))| {
            (
                name,
                if count == 0 {
                    0.0
                } else {
                    ok as f64 * 100.0 / count as f64
                },
            )
        })
        .collect();
    let n = bars.len().max(1) as i32;
    draw(|area| {
        let mut chart = ChartBuilder::on(area)
            .caption("Success rate per channel (%)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n).into_segmented(), 0f64..100f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i as usize)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, rate))| {
                let i = i as i32;
                let color = PALETTE[i as usize % PALETTE.len()];
                Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), *rate),
                    ],
                    color.mix(0.8).filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

async fn chart(
    d: &Dashboard,
    signed: &Signed,
    ask: &Ask,
    paint: impl FnOnce(&[ReportRow], &Window) -> Result<String, String>,
) -> Response {
    match made(d, &signed.live.session.scope, ask).await {
        Ok(Ok((rows, window))) => match paint(&rows, &window) {
            Ok(body) => svg(body),
            Err(e) => failed(e),
        },
        Ok(Err(problem)) => (StatusCode::BAD_REQUEST, problem).into_response(),
        Err(response) => response,
    }
}

pub async fn volume(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<Ask>,
) -> Response {
    chart(&d, &signed, &ask, volume_chart).await
}

pub async fn success(
    State(d): State<Arc<Dashboard>>,
    signed: Signed,
    Query(ask): Query<Ask>,
) -> Response {
    chart(&d, &signed, &ask, |rows, _| success_chart(rows)).await
}
