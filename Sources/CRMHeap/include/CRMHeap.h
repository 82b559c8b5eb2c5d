#ifndef CRM_HEAP_H
#define CRM_HEAP_H

/// Returns the heap's free memory to the system (glibc's malloc_trim(0)); 1 if any was released.
/// A service calls it after a load that allocated and freed far more than it keeps (a replica's
/// snapshot), so its resident memory is what it holds rather than the load's high-water mark.
/// Elsewhere than glibc it does nothing and returns 0.
int crm_heap_trim(void);

#endif
