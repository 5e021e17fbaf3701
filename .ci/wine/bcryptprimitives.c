/* Wine before 8.13 (Debian 12 has 8.0) lacks bcryptprimitives.dll, whose ProcessPrng Rust's
 * standard library calls on Windows 10 and later (rust-lang/rust#121337). This stand-in, built
 * with MinGW and put in the test prefix's system32 only, answers from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine 8.0 has. Never shipped: real Windows has the DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
