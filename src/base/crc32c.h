/*
 * crc32c.h - CRC32C (Castagnoli), used to check the region header and
 * journal records.
 */
#ifndef JR_CRC32C_H
#define JR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of len bytes, continuing from crc (start with 0). Thread-safe.
 * The CPU's instruction where it has one. */
uint32_t jr_crc32c(uint32_t crc, const void *data, size_t len);
/* The same with the table alone (tests compare the two). */
uint32_t jr_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
