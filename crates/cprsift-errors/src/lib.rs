//! The one error language of cprsift.
//!
//! Every error any cprsift crate reports carries a [`Category`] from one table
//! ([`category`]): its stable name (the `[name]` an operator reads, the `category` of JSON
//! output), the exit code the command line ends with, and the sentence that documents it are
//! all derived from that table, so no name is typed twice. [`Categorized`] is how an error type
//! tells its category.
//!
//! Messages never hold a full personal number (PNR): every place that echoes input text into a
//! message passes it through [`mask_personal_numbers`], the one masking rule.

mod category;
mod mask;

pub use category::{Categorized, Category, Class};
pub use mask::{group_thousands, mask_personal_numbers};
