// `noop` (workloads/ABI.md): returns its input unchanged, byte for byte.
function handle(input) {
    return input;
}
