/* Stand-in for bcryptprimitives.dll, which wine 8.0 lacks but Rust's std (>= 1.78) imports for
 * ProcessPrng (HashMap seeds). Only for the wine test prefix; real Windows 10+ ships the DLL.
 * Build: x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
