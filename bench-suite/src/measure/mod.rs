//! The measurements. Each owns its configuration, its rows and its section of the report:
//! footprint (bytes per entry), retention of expired entries, hit ratio, the article's
//! scenario, and the advice derived from them.

pub mod advice;
pub mod footprint;
pub mod hitratio;
pub mod retention;
pub mod scenario;
pub mod traces;
