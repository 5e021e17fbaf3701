//! Windows' print spooler (winspool), safely: a job is one RAW document of one page, written
//! with `WritePrinter`, so the printer's driver passes the bytes (ZPL) through untouched; the
//! list comes from `EnumPrinters`; a printer's state from `GetPrinter` (level 2: its status
//! bits and how many jobs it holds). What the bits mean is `packbench-devices`' business.
//!
//! Empty on other systems.

#![cfg(windows)]

use windows::Win32::Foundation::GetLastError;
use windows::Win32::Graphics::Printing::{
    AbortPrinter, ClosePrinter, DOC_INFO_1W, EndDocPrinter, EndPagePrinter, EnumPrintersW,
    GetPrinterW, OpenPrinterW, PRINTER_ENUM_CONNECTIONS, PRINTER_ENUM_LOCAL, PRINTER_HANDLE,
    PRINTER_INFO_2W, PRINTER_INFO_4W, StartDocPrinterW, StartPagePrinter, WritePrinter,
};
use windows::core::{PCWSTR, PWSTR};

/// ERROR_INVALID_PRINTER_NAME: OpenPrinter's answer for a printer Windows does not have.
const INVALID_PRINTER_NAME: u32 = 1801;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Reads a NUL-terminated wide string the spooler wrote.
///
/// # Safety
/// `p` is null or points at a NUL-terminated UTF-16 string.
unsafe fn read_wide(p: PWSTR) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    unsafe { String::from_utf16_lossy(p.as_wide()) }
}

/// What went wrong, in the spooler's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn last_error(what: &str) -> Error {
    Error(format!("{what}: {}", windows::core::Error::from_thread()))
}

/// A printer's status bits (`PRINTER_INFO_2.Status`) and the jobs it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub status: u32,
    pub jobs: u32,
}

/// An open printer, closed when dropped.
pub struct Printer(PRINTER_HANDLE);

impl Printer {
    /// Opens the printer `queue`; `Ok(None)` when Windows has no printer of that name.
    pub fn open(queue: &str) -> Result<Option<Self>, Error> {
        let name = wide(queue);
        let mut handle = PRINTER_HANDLE::default();
        // SAFETY: `name` is NUL-terminated and outlives the call; `handle` is written by it.
        match unsafe { OpenPrinterW(PCWSTR(name.as_ptr()), &mut handle, None) } {
            Ok(()) => Ok(Some(Self(handle))),
            // SAFETY: reads this thread's last error, set by the failed call.
            Err(_) if unsafe { GetLastError() }.0 == INVALID_PRINTER_NAME => Ok(None),
            Err(e) => Err(Error(format!("opening `{queue}`: {e}"))),
        }
    }

    /// Its status bits and queued jobs.
    pub fn state(&self) -> Result<State, Error> {
        let buf = fill(|buf, needed| {
            // SAFETY: `buf` is the slice the spooler writes into (None asks the size).
            unsafe { GetPrinterW(self.0, 2, buf, needed) }
        })?;
        // SAFETY: a successful level-2 GetPrinter wrote a PRINTER_INFO_2W at the start of `buf`
        // (8-byte aligned: a Vec<u64> backs it).
        let info = unsafe { &*(buf.as_ptr() as *const PRINTER_INFO_2W) };
        Ok(State {
            status: info.Status,
            jobs: info.cJobs,
        })
    }

    /// One RAW document named `title`, of one page holding `job`, byte for byte.
    pub fn write_raw(&self, title: &str, job: &[u8]) -> Result<(), Error> {
        let mut name = wide(title);
        let mut datatype = wide("RAW");
        let doc = DOC_INFO_1W {
            pDocName: PWSTR(name.as_mut_ptr()),
            pOutputFile: PWSTR::null(),
            pDatatype: PWSTR(datatype.as_mut_ptr()),
        };
        // SAFETY: `doc`'s strings are NUL-terminated and live until the document ends.
        let id = unsafe { StartDocPrinterW(self.0, 1, &doc) };
        if id == 0 {
            return Err(last_error("starting the job"));
        }
        if let Err(e) = self.write_page(job) {
            // Half a label is worse than none: the job is deleted, not ended.
            // SAFETY: a document was started on this handle.
            let _ = unsafe { AbortPrinter(self.0) };
            return Err(e);
        }
        // SAFETY: a document was started on this handle.
        let ended = unsafe { EndDocPrinter(self.0) }.as_bool();
        if ended {
            Ok(())
        } else {
            Err(last_error("ending the job"))
        }
    }

    fn write_page(&self, job: &[u8]) -> Result<(), Error> {
        // SAFETY: a document is open on this handle.
        if !unsafe { StartPagePrinter(self.0) }.as_bool() {
            return Err(last_error("starting the page"));
        }
        let mut rest = job;
        while !rest.is_empty() {
            let chunk = &rest[..rest.len().min(64 * 1024)];
            let mut wrote = 0u32;
            // SAFETY: `chunk` is readable for its length; `wrote` is written by the call.
            let ok = unsafe {
                WritePrinter(
                    self.0,
                    chunk.as_ptr().cast(),
                    chunk.len() as u32,
                    &mut wrote,
                )
            }
            .as_bool();
            if !ok || wrote == 0 {
                return Err(last_error("writing the job"));
            }
            rest = &rest[wrote as usize..];
        }
        // SAFETY: a page is open on this handle.
        if unsafe { EndPagePrinter(self.0) }.as_bool() {
            Ok(())
        } else {
            Err(last_error("ending the page"))
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenPrinterW and is closed once.
        let _ = unsafe { ClosePrinter(self.0) };
    }
}

/// Calls a winspool "fill this buffer" function twice: once for the size, once to fill.
fn fill(
    mut call: impl FnMut(Option<&mut [u8]>, *mut u32) -> windows::core::Result<()>,
) -> Result<Vec<u64>, Error> {
    let mut needed = 0u32;
    // The first call fails (ERROR_INSUFFICIENT_BUFFER) and says how much it needs.
    let _ = call(None, &mut needed);
    if needed == 0 {
        return Err(last_error("asking the spooler"));
    }
    // u64s, so the structures written at its start are aligned.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: the u64 buffer viewed as the bytes it holds, `needed` of them or more.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), buf.len() * 8) };
    call(Some(bytes), &mut needed).map_err(|e| Error(e.to_string()))?;
    Ok(buf)
}

/// The names of the printers this computer has, its own and those it is connected to.
pub fn printer_names() -> Result<Vec<String>, Error> {
    let flags = PRINTER_ENUM_LOCAL | PRINTER_ENUM_CONNECTIONS;
    let mut count = 0u32;
    let buf = match fill(|buf, needed| {
        // SAFETY: `buf` is the slice the spooler writes into; `count` is written by the call.
        unsafe { EnumPrintersW(flags, PCWSTR::null(), 4, buf, needed, &mut count) }
    }) {
        Ok(buf) => buf,
        // No printers at all: nothing to size.
        Err(_) if count == 0 => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // SAFETY: a successful level-4 EnumPrinters wrote `count` PRINTER_INFO_4Ws at the start.
    let infos = unsafe {
        std::slice::from_raw_parts(buf.as_ptr() as *const PRINTER_INFO_4W, count as usize)
    };
    Ok(infos
        .iter()
        // SAFETY: the spooler's names are NUL-terminated strings inside `buf`.
        .map(|i| unsafe { read_wide(i.pPrinterName) })
        .filter(|n| !n.is_empty())
        .collect())
}
