# Sourced by the benchmarks: sets NULL to a real null device. /dev/null is a
# plain file on some machines, and writing output into it costs a disk write
# per byte; a character device is made in the folder $1 when it is not.
null_device() {
  NULL=/dev/null
  if [ ! -c /dev/null ]; then
    NULL="$1/null"
    mknod "$NULL" c 1 3 2>/dev/zero || NULL="$1/null.out"
  fi
}
