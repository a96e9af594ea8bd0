//! A mass transfer file as a dashboard user uploads it: CSV (UTF-8, a header
//! row, comma- or semicolon-separated) or XLSX (the first worksheet), one payout
//! per line under the columns `reference`, `bank_code`, `account`,
//! `account_name`, `amount` (rupiah, `150000` or `150000.50`) and an optional
//! `description`. Every line is checked on its own, and each problem named with
//! its line; a file that is not one of these, too big, or that unpacks to more
//! than it may (a zip bomb) is refused whole. A cell that a spreadsheet would run
//! as a formula is refused, not read.

use gerbang_core::money::parse_decimal;
use std::collections::HashSet;
use std::io::{Cursor, Read};

/// Largest file taken.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// Most payout lines in one file.
pub const MAX_LINES: usize = 5_000;
/// Most bytes an XLSX file may unpack to, all its parts together.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;
/// Most parts in an XLSX file.
const MAX_PARTS: usize = 64;
/// Most columns read.
const MAX_COLUMNS: u32 = 16;
/// Longest cell kept, in characters (the longest a good cell can be is 100);
/// a longer one is cut, and fails its line's checks.
const MAX_CELL_CHARS: usize = 256;
/// Largest amount of one line, in sen (Rp 1.000.000.000).
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;

/// The columns, as the header names them.
pub const COLUMNS: [&str; 6] = [
    "reference",
    "bank_code",
    "account",
    "account_name",
    "amount",
    "description",
];
/// The columns every file must have.
const REQUIRED: [&str; 5] = [
    "reference",
    "bank_code",
    "account",
    "account_name",
    "amount",
];

/// One checked payout line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Its row in the file (the header is row 1).
    pub row: usize,
    pub reference: String,
    /// A bank's clearing code (`014`) or an e-wallet's (`ovo`), lowercase.
    pub bank_code: String,
    pub account: String,
    pub account_name: String,
    pub amount_minor: i64,
    pub description: String,
}

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    pub row: usize,
    pub problems: Vec<String>,
}

/// A file read line by line: the good lines and the problems of the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub lines: Vec<Line>,
    pub problems: Vec<LineProblem>,
}

/// Why a file is refused whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is larger than {} KiB", MAX_FILE_BYTES / 1024)]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("the file unpacks to more than {} MiB or holds too many parts", MAX_UNPACKED_BYTES / (1024 * 1024))]
    Bomb,
    #[error("the file is neither UTF-8 CSV nor XLSX: {0}")]
    Unreadable(String),
    #[error("the header row lacks the column(s) {0}")]
    MissingColumns(String),
    #[error("the header row names the column {0} twice")]
    RepeatedColumn(String),
    #[error("the file has more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("the file has no payout line")]
    NoLines,
}

/// Reads a mass transfer file.
pub fn parse(bytes: &[u8]) -> Result<Parsed, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_rows(bytes)?
    } else {
        csv_rows(bytes)?
    };
    lines(rows)
}

/// A row as read: its number in the file and its cells as text.
type Rows = Vec<(usize, Vec<String>)>;

fn csv_rows(bytes: &[u8]) -> Result<Rows, FileError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| FileError::Unreadable("the text is not UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| FileError::Unreadable(format!("row {}: {e}", i + 1)))?;
        if rows.len() > MAX_LINES + 1 {
            return Err(FileError::TooManyLines);
        }
        let cells: Vec<String> = record
            .iter()
            .take(MAX_COLUMNS as usize)
            .map(capped)
            .collect();
        rows.push((i + 1, cells));
    }
    Ok(rows)
}

/// Unpacks every part of the archive into nothing, counting: more than the
/// limit, however small the parts claim to be, is a bomb.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FileError::Unreadable(format!("not a valid XLSX archive ({e})")))?;
    if archive.len() > MAX_PARTS {
        return Err(FileError::Bomb);
    }
    let mut left = MAX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let part = archive
            .by_index(i)
            .map_err(|e| FileError::Unreadable(format!("a damaged XLSX part ({e})")))?;
        let read = std::io::copy(&mut part.take(left + 1), &mut std::io::sink())
            .map_err(|e| FileError::Unreadable(format!("a damaged XLSX part ({e})")))?;
        left = left.checked_sub(read).ok_or(FileError::Bomb)?;
    }
    Ok(())
}

fn xlsx_rows(bytes: &[u8]) -> Result<Rows, FileError> {
    use calamine::{Reader, Xlsx};
    check_unpacked_size(bytes)?;
    let unreadable = |e: calamine::XlsxError| FileError::Unreadable(format!("{e}"));
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| FileError::Unreadable("the workbook has no worksheet".into()))?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let mut rows: Rows = Vec::new();
    // Cells come row by row; each is placed by its own position, never by a
    // range the file declares (a cell at the last row and column of a sheet
    // would make a range of billions).
    while let Some(cell) = cells.next_cell_with_formula().map_err(unreadable)? {
        let (row, column) = cell.pos;
        if row as usize > MAX_LINES + 1 {
            return Err(FileError::TooManyLines);
        }
        if column >= MAX_COLUMNS {
            continue;
        }
        let number = row as usize + 1;
        if rows.last().is_none_or(|(n, _)| *n != number) {
            rows.push((number, Vec::new()));
        }
        let Some((_, values)) = rows.last_mut() else {
            continue;
        };
        let text = match cell.formula {
            // A formula's cached value is what the spreadsheet showed, not
            // what was typed: refused as a formula.
            Some(f) if !f.is_empty() => format!("={}", capped(&f)),
            _ => cell_text(&cell.value),
        };
        if values.len() <= column as usize {
            values.resize(column as usize + 1, String::new());
        }
        values[column as usize] = text;
    }
    Ok(rows)
}

/// At most [`MAX_CELL_CHARS`] of `text`: a workbook may point thousands of cells
/// at one huge shared string, which must not be copied into each.
fn capped(text: &str) -> String {
    text.chars().take(MAX_CELL_CHARS).collect()
}

fn cell_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match value {
        DataRef::String(s) => capped(s),
        DataRef::SharedString(s) => capped(s),
        DataRef::Int(i) => i.to_string(),
        // Whole numbers as spreadsheets show them; others with their decimals.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => capped(s),
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

/// Whether a spreadsheet would take `text` for a formula (CSV injection).
fn looks_like_formula(text: &str) -> bool {
    text.trim_start()
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn lines(rows: Rows) -> Result<Parsed, FileError> {
    let mut rows = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((_, header)) = rows.next() else {
        return Err(FileError::NoLines);
    };
    let mut at = std::collections::HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        if let Some(known) = COLUMNS.iter().find(|c| **c == name) {
            if at.insert(*known, i).is_some() {
                return Err(FileError::RepeatedColumn(name));
            }
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !at.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing.join(", ")));
    }
    let mut parsed = Parsed::default();
    let mut references = HashSet::new();
    for (row, cells) in rows {
        if parsed.lines.len() + parsed.problems.len() >= MAX_LINES {
            return Err(FileError::TooManyLines);
        }
        let cell = |name: &str| {
            at.get(name)
                .and_then(|i| cells.get(*i))
                .map(|c| c.trim().to_string())
                .unwrap_or_default()
        };
        match line(row, &cell, &mut references) {
            Ok(l) => parsed.lines.push(l),
            Err(problems) => parsed.problems.push(LineProblem { row, problems }),
        }
    }
    if parsed.lines.is_empty() && parsed.problems.is_empty() {
        return Err(FileError::NoLines);
    }
    Ok(parsed)
}

fn line(
    row: usize,
    cell: &dyn Fn(&str) -> String,
    references: &mut HashSet<String>,
) -> Result<Line, Vec<String>> {
    let mut problems = Vec::new();
    for name in COLUMNS {
        if looks_like_formula(&cell(name)) {
            problems.push(format!(
                "{name} starts like a spreadsheet formula; write it as plain text"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let reference = cell("reference");
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if reference.is_empty() || reference.chars().count() > 32 || !reference.chars().all(plain) {
        problems.push("reference is 1 to 32 letters, digits or - _ . /".into());
    } else if !references.insert(reference.clone()) {
        problems.push(format!("reference {reference} is on an earlier line too"));
    }
    let bank_code = cell("bank_code").to_ascii_lowercase();
    let bank_ok = (bank_code.len() == 3 && bank_code.bytes().all(|b| b.is_ascii_digit()))
        || ((2..=10).contains(&bank_code.len())
            && bank_code.bytes().all(|b| b.is_ascii_lowercase()));
    if !bank_ok {
        problems.push("bank_code is a bank's 3-digit code or an e-wallet's (ovo)".into());
    }
    let account = cell("account");
    if !(5..=20).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        problems.push("account is 5 to 20 digits".into());
    }
    let account_name = cell("account_name");
    let name_ok = |c: char| c.is_alphanumeric() || " .,'-".contains(c);
    if account_name.is_empty()
        || account_name.chars().count() > 64
        || !account_name.chars().all(name_ok)
    {
        problems.push("account_name is 1 to 64 letters, digits, spaces or . , ' -".into());
    }
    let amount_text = cell("amount");
    let amount_minor = match parse_decimal(&amount_text, 2) {
        Ok(a) if (1..=MAX_AMOUNT_MINOR).contains(&a) => a,
        Ok(_) => {
            problems.push("amount is more than 0 and at most Rp 1.000.000.000".into());
            0
        }
        Err(_) => {
            problems.push(format!(
                "amount {amount_text:?} is not rupiah written like 150000 or 150000.50"
            ));
            0
        }
    };
    let description = cell("description");
    if description.chars().count() > 100 || description.chars().any(char::is_control) {
        problems.push("description is at most 100 characters of text".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Line {
        row,
        reference,
        bank_code,
        account,
        account_name,
        amount_minor,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "reference,bank_code,account,account_name,amount,description\n";

    #[test]
    fn csv_lines_are_read_and_each_problem_named_with_its_row() {
        let text = format!(
            "{HEADER}PAY-1,014,1234567890,JOHN DOE,150000,salary\n\
             PAY-2,ovo,081234567890,Siti,150000.50,\n\
             PAY-1,014,1234567890,JOHN DOE,1,dup\n\
             PAY-3,14,12,,abc,\n\
             PAY-4,014,1234567890,=HYPERLINK(\"x\"),100,\n"
        );
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.lines.len(), 2);
        assert_eq!(parsed.lines[0].amount_minor, 15_000_000);
        assert_eq!(parsed.lines[1].amount_minor, 15_000_050);
        assert_eq!(parsed.lines[1].row, 3);
        let rows: Vec<usize> = parsed.problems.iter().map(|p| p.row).collect();
        assert_eq!(rows, [4, 5, 6]);
        assert!(parsed.problems[0].problems[0].contains("earlier line"));
        assert_eq!(
            parsed.problems[1].problems.len(),
            4,
            "{:?}",
            parsed.problems[1]
        );
        assert!(parsed.problems[2].problems[0].contains("formula"));
    }

    #[test]
    fn semicolons_a_bom_and_column_order_are_taken() {
        let text =
            "\u{feff}Amount;Account Name;Account;Bank Code;Reference\n100;Budi;12345;008;R1\n";
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.lines[0].bank_code, "008");
        assert_eq!(parsed.lines[0].amount_minor, 10_000);
    }

    #[test]
    fn whole_files_are_refused() {
        assert_eq!(parse(b""), Err(FileError::Empty));
        assert_eq!(
            parse(b"reference,amount\nA,1\n"),
            Err(FileError::MissingColumns(
                "bank_code, account, account_name".into()
            ))
        );
        assert_eq!(parse(HEADER.as_bytes()), Err(FileError::NoLines));
        assert!(matches!(
            parse(b"\xff\xfe\x00"),
            Err(FileError::Unreadable(_))
        ));
        assert!(matches!(
            parse(b"PK\x03\x04garbage"),
            Err(FileError::Unreadable(_))
        ));
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert_eq!(parse(&big), Err(FileError::TooLarge));
        let mut many = HEADER.to_string();
        for i in 0..=MAX_LINES {
            many.push_str(&format!("P{i},014,1234567890,A,1,\n"));
        }
        assert_eq!(parse(many.as_bytes()), Err(FileError::TooManyLines));
    }

    fn workbook(rows: &[[&str; 5]], formula_at: Option<(u32, u16)>) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, name) in COLUMNS[..5].iter().enumerate() {
            sheet.write_string(0, c as u16, *name).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match value.parse::<f64>() {
                    Ok(n) if c == 4 => sheet.write_number(r, c, n).unwrap(),
                    _ => sheet.write_string(r, c, *value).unwrap(),
                };
            }
        }
        if let Some((r, c)) = formula_at {
            sheet.write_formula(r, c, "=1+1").unwrap();
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_lines_are_read_and_formulas_refused() {
        let bytes = workbook(
            &[
                ["PAY-1", "014", "1234567890", "JOHN DOE", "150000"],
                ["PAY-2", "008", "9876543210", "SITI", "2500.5"],
            ],
            Some((3, 4)),
        );
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.lines.len(), 2);
        assert_eq!(parsed.lines[0].amount_minor, 15_000_000);
        assert_eq!(parsed.lines[1].amount_minor, 250_050);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].row, 4);
        assert!(parsed.problems[0]
            .problems
            .iter()
            .any(|p| p.contains("formula")));
    }

    #[test]
    fn one_huge_shared_string_in_many_cells_is_cut_in_each() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, name) in COLUMNS[..5].iter().enumerate() {
            sheet.write_string(0, c as u16, *name).unwrap();
        }
        let huge = "x".repeat(30_000);
        for r in 1..=200u32 {
            for c in 0..5u16 {
                sheet.write_string(r, c, &huge).unwrap();
            }
        }
        let bytes = book.save_to_buffer().unwrap();
        assert!(bytes.len() < MAX_FILE_BYTES, "{} bytes", bytes.len());
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.problems.len(), 200);
        assert!(parsed.lines.is_empty());
    }

    #[test]
    fn a_cell_far_out_neither_allocates_nor_passes() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "reference").unwrap();
        sheet.write_string(1_048_575, 16_383, "far").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert_eq!(parse(&bytes), Err(FileError::TooManyLines));
    }

    #[test]
    fn an_archive_that_unpacks_too_far_is_a_bomb() {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..40 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = out.into_inner();
        assert!(bytes.len() < MAX_FILE_BYTES, "{} bytes", bytes.len());
        assert_eq!(parse(&bytes), Err(FileError::Bomb));
    }
}
