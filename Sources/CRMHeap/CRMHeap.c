#include "CRMHeap.h"

// <stdlib.h> first: glibc announces itself (__GLIBC__, from <features.h>) only once one of its
// headers is in. Tested before any include, the condition was false on every build, so this
// function returned 0 without trimming anything (found 7 Dec: its disassembly was `xor eax, eax;
// ret`); HeapTrimTests now checks that it releases memory.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
int crm_heap_trim(void) { return malloc_trim(0); }
#else
int crm_heap_trim(void) { return 0; }
#endif
