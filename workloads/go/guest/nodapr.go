package guest

// noDapr is the backend of the middleware and command flavours: daprd runs
// those modules itself and gives them no Dapr API, so every call answers
// NOT_PERMITTED, as a host without Dapr access does, and the module imports
// nothing from "dapr".
type noDapr struct{}

func (noDapr) stateGet(string, string) (*StateEntry, error) { return nil, ErrNotPermitted }
func (noDapr) stateGetBulk(string, []string) ([]*StateEntry, error) {
	return nil, ErrNotPermitted
}
func (noDapr) stateSet(string, string, []byte, string, Concurrency) error {
	return ErrNotPermitted
}
func (noDapr) stateDelete(string, string, string, Concurrency) error { return ErrNotPermitted }
func (noDapr) publish(string, string, []byte, string) error          { return ErrNotPermitted }
func (noDapr) invokeBinding(string, string, []byte) ([]byte, error) {
	return nil, ErrNotPermitted
}
func (noDapr) log(LogLevel, string) {}
