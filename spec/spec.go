package spec

import (
	"strconv"
	"strings"
)

// MountPath is the only mount directory Flyte accepts, and the logical
// directory in which file requests appear.
const MountPath = "/etc/flyte/secrets"

// Shape says which kind of request a Raw was read as.
type Shape int

const (
	// ShapeSDK is the Python SDK's Secret: mount and as_env_var.
	ShapeSDK Shape = iota
	// ShapeCore is a serialized core.Secret: mount_requirement and env_var.
	ShapeCore
)

func (s Shape) String() string {
	switch s {
	case ShapeSDK:
		return "sdk"
	case ShapeCore:
		return "core"
	}
	return "Shape(" + strconv.Itoa(int(s)) + ")"
}

// MountRequirement is core.Secret.MountType.
type MountRequirement int

const (
	MountAny    MountRequirement = 0 // ANY: treated as ENV_VAR
	MountEnvVar MountRequirement = 1 // ENV_VAR
	MountFile   MountRequirement = 2 // FILE
)

func (m MountRequirement) String() string {
	switch m {
	case MountAny:
		return "ANY"
	case MountEnvVar:
		return "ENV_VAR"
	case MountFile:
		return "FILE"
	}
	return "MountRequirement(" + strconv.Itoa(int(m)) + ")"
}

// Raw is one request as read, before the rules.
type Raw struct {
	// Origin says where the request came from, for messages:
	// `--secret #2`, `spec "task.pb" secret 3`, `FLYTE_SECRETS secret 1`.
	Origin string
	Shape  Shape

	Key, Group, GroupVersion string

	Mount, AsEnvVar string // ShapeSDK
	Optional        bool

	MountRequirement MountRequirement // ShapeCore
	EnvVar           string           // ShapeCore
}

// Request is one valid request after the rules.
type Request struct {
	Key, Group, GroupVersion string
	Optional                 bool

	// EnvVar is the variable to set, "" for none.
	EnvVar string
	// EnvIsPath says that EnvVar holds the file's logical path, not the
	// value (a core.Secret with mount_requirement FILE and env_var).
	EnvIsPath bool
	// File says that a file is written under MountPath.
	File bool

	Origin string
}

// FilePath is the file's path under the mount directory: the key as given
// when there is no group, else lower(group)/lower(key). It is "" when the
// request writes no file.
func (r Request) FilePath() string {
	if !r.File {
		return ""
	}
	if r.Group == "" {
		return r.Key
	}
	return strings.ToLower(r.Group) + "/" + strings.ToLower(r.Key)
}

// LogicalPath is the file's path as the task sees it, under MountPath, or ""
// when the request writes no file.
func (r Request) LogicalPath() string {
	if !r.File {
		return ""
	}
	return MountPath + "/" + r.FilePath()
}
