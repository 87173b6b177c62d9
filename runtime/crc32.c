/* crc32.c — bytewise CRC-32 (zlib's polynomial). The table is computed per
 * byte on the fly from 8 shift steps folded into a nibble table, so there is
 * no mutable global table to initialize (no global mutable state). */
#include "runtime/crc32.h"

/* CRC of each 4-bit value, for the reflected polynomial 0xEDB88320. */
static const uint32_t qc_crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};

uint32_t qc_crc32(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ qc_crc_nibble[crc & 15];
        crc = (crc >> 4) ^ qc_crc_nibble[crc & 15];
    }
    return ~crc;
}
