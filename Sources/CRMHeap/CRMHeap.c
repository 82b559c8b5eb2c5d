#include "CRMHeap.h"

#if defined(__GLIBC__)
#include <malloc.h>
int crm_heap_trim(void) { return malloc_trim(0); }
#else
int crm_heap_trim(void) { return 0; }
#endif
