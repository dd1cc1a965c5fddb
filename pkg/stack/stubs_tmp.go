package stack

func (b *builder) vpc() *Template { return NewTemplate("vpc (in progress)") }
func (b *builder) replicas() (*Template, map[string]string) {
	return NewTemplate("replicas (in progress)"), map[string]string{}
}
