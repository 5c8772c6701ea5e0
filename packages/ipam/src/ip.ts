// Floor 3 (ipam): the IP math is @tscni/ip's. This re-export only keeps the '../ip.js' imports of
// the dhcp and disk-store modules (edited elsewhere at the time of the move) working; delete it
// once they import '@tscni/ip'.
export * from '@tscni/ip';
