/* crc32.h — CRC-32 (IEEE 802.3 / zlib polynomial, reflected 0xEDB88320),
 * the checksum of the .qcm header, section table and sections. */
#ifndef QC_RUNTIME_CRC32_H
#define QC_RUNTIME_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of `len` bytes; chain with crc = qc_crc32(crc, ...) starting from 0. */
uint32_t qc_crc32(uint32_t crc, const void *data, size_t len);

#endif
