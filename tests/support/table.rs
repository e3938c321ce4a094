//! Tables of cases that report every failing row, not only the first.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Collects the failing rows of a table; [`Table::assert_all_passed`] fails with all of them.
pub struct Table {
    name: String,
    rows: usize,
    failures: Vec<String>,
}

impl Table {
    pub fn new(name: &str) -> Table {
        Table {
            name: name.to_string(),
            rows: 0,
            failures: Vec::new(),
        }
    }

    /// Runs one row; a panic (a failed assertion) in it is recorded under `row` and the table
    /// goes on with the next row.
    pub fn row(&mut self, row: &str, check: impl FnOnce()) {
        self.rows += 1;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(check)) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(a panic without a message)".into());
            self.failures.push(format!("{row}: {message}"));
        }
    }

    /// Fails the test listing every failing row.
    pub fn assert_all_passed(self) {
        assert!(self.rows > 0, "{}: the table has no rows", self.name);
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} rows failed:\n{}",
            self.name,
            self.failures.len(),
            self.rows,
            self.failures.join("\n---\n")
        );
    }
}
