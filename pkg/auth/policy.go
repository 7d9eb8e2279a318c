package auth

import (
	"slices"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Public is the pseudo-role that marks a method as open to everyone, credentials or not:
// Policy{"/grpc.health.v1.Health/Check": {auth.Public}}. It is never a principal's role.
const Public iamv1.Role = -1

// Policy maps a full gRPC method name ("/huiyuan.member.v1.MemberService/GetMember") to the
// roles allowed to call it. A method that is not listed is denied to everyone.
type Policy map[string][]iamv1.Role

// IsPublic reports whether method is marked Public.
func (p Policy) IsPublic(method string) bool {
	return slices.Contains(p[method], Public)
}

// Allows reports whether role may call method. Public methods allow every role; Internal (another
// service) may call every listed method.
func (p Policy) Allows(method string, role iamv1.Role) bool {
	roles, listed := p[method]
	if role == Internal {
		return listed
	}
	return slices.Contains(roles, role) || slices.Contains(roles, Public)
}

// Merge returns a new Policy holding every entry of ps; a method listed more than once allows
// the union of its roles. A method listed with no roles stays listed (open to other services
// only, such as iam's AuthenticateKey).
func Merge(ps ...Policy) Policy {
	out := make(Policy)
	for _, p := range ps {
		for method, roles := range p {
			if _, ok := out[method]; !ok {
				out[method] = []iamv1.Role{} // listed with no role: open to Internal principals only
			}
			for _, r := range roles {
				if !slices.Contains(out[method], r) {
					out[method] = append(out[method], r)
				}
			}
		}
	}
	return out
}

// PublicMethods returns a Policy marking the standard gRPC health and reflection methods
// Public, so load balancers and tools like grpcurl need no key.
func PublicMethods() Policy {
	pub := []iamv1.Role{Public}
	return Policy{
		"/grpc.health.v1.Health/Check":                                   pub,
		"/grpc.health.v1.Health/Watch":                                   pub,
		"/grpc.health.v1.Health/List":                                    pub,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      pub,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": pub,
	}
}

// RoleName names a role in messages, the pseudo-roles included.
func RoleName(r iamv1.Role) string {
	switch r {
	case Public:
		return "PUBLIC"
	case Internal:
		return "INTERNAL"
	}
	return r.String()
}
