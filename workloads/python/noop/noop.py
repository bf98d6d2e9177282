"""`noop` (workloads/ABI.md): returns its input unchanged, byte for byte."""


def handle(request):
    return request
