module blueprint-bench/workloads/go

go 1.26
