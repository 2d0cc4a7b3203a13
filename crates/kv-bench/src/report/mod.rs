//! Output: the terminal table, JSON, the Markdown report and its SVG charts.

pub mod axis;
pub mod bars;
pub mod charts;
pub mod compare;
pub mod format;
pub mod guide;
pub mod json;
pub mod lines;
pub mod markdown;
pub mod palette;
pub mod scale_report;
pub mod table;
pub mod threads;
pub mod timing;
