//! Output: the terminal table, JSON, the Markdown report and its SVG charts.

pub mod charts;
pub mod compare;
pub mod format;
pub mod json;
pub mod markdown;
pub mod table;
pub mod threads;
