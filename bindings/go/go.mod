module github.com/featureflags/featureflags/bindings/go

go 1.21
