/*
 * crc32c.c - table-driven CRC32C, reflected polynomial 0x82F63B78.
 * The table is computed at compile time by the constructor below, once.
 */
#include "crc32c.h"

static uint32_t crc32c_table[256];

__attribute__((constructor)) static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t jr_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
