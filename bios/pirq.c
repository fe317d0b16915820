/* PCI interrupt routing of the i440FX/PIIX3 board and its $PIR table. */
#include "tables.h"
#include "bstring.h"

int pirq_for_pin(int slot, int pin)
{
	return ((pin - 1) + (slot - 1)) & 3;
}

uint8_t table_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

size_t pirq_build_table(uint8_t *buf, size_t len, const uint8_t *slots, int nslots,
			uint8_t router_devfn, uint16_t router_vendor,
			uint16_t router_device, uint16_t irq_bitmap)
{
	size_t size = 32 + 16 * (size_t)nslots;
	int i, pin;

	if (size > len || size > 0xffff)
		return 0;
	memset(buf, 0, size);
	memcpy(buf, "$PIR", 4);
	buf[4] = 0x00;                  /* version 1.0: minor, major */
	buf[5] = 0x01;
	buf[6] = (uint8_t)size;
	buf[7] = (uint8_t)(size >> 8);
	buf[8] = 0;                     /* router bus */
	buf[9] = router_devfn;
	/* [10..11] PCI-exclusive IRQs: none */
	buf[12] = (uint8_t)router_vendor;
	buf[13] = (uint8_t)(router_vendor >> 8);
	buf[14] = (uint8_t)router_device;
	buf[15] = (uint8_t)(router_device >> 8);
	/* [16..19] miniport data, [20..30] reserved, [31] checksum */
	for (i = 0; i < nslots; i++) {
		uint8_t *e = buf + 32 + 16 * i;

		e[0] = 0;                      /* bus */
		e[1] = (uint8_t)(slots[i] << 3); /* devfn, function 0 */
		for (pin = 1; pin <= 4; pin++) {
			e[2 + 3 * (pin - 1)] = (uint8_t)(0x60 + pirq_for_pin(slots[i], pin));
			e[3 + 3 * (pin - 1)] = (uint8_t)irq_bitmap;
			e[4 + 3 * (pin - 1)] = (uint8_t)(irq_bitmap >> 8);
		}
		e[14] = slots[i];              /* slot number */
		e[15] = 0;
	}
	buf[31] = (uint8_t)-table_checksum(buf, size);
	return size;
}
