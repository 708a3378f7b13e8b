module github.com/featureflags/featureflags/bindings/go/openfeature

go 1.26.0

require (
	github.com/featureflags/featureflags/bindings/go v0.0.0
	github.com/open-feature/go-sdk v1.20.0
)

require (
	github.com/ebitengine/purego v0.11.3 // indirect
	go.uber.org/mock v0.6.0 // indirect
)

replace github.com/featureflags/featureflags/bindings/go => ../
