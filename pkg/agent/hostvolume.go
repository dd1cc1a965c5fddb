package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// The host side of a core member: `neo4jctl-agent attach-volume`, run by the instance's user
// data (pkg/stack downloads the agent from the cluster bucket and checks its SHA-256), with
// the instance role's credentials. It attaches the member's data volume, formats it only when
// it is blank, mounts it, writes the marker the container's entrypoint checks, and reports
// every step to the member's boot log stream. When it cannot, it says why in that stream and
// marks the instance unhealthy, so the member's Auto Scaling group replaces it: nothing on the
// host needs a package manager or the AWS CLI.

// HostEC2API is the part of the EC2 client attach-volume uses.
type HostEC2API interface {
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, opts ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	AttachVolume(ctx context.Context, in *ec2.AttachVolumeInput, opts ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error)
}

// HostASGAPI is the part of the Auto Scaling client attach-volume uses.
type HostASGAPI interface {
	SetInstanceHealth(ctx context.Context, in *autoscaling.SetInstanceHealthInput, opts ...func(*autoscaling.Options)) (*autoscaling.SetInstanceHealthOutput, error)
}

// HostSystem runs the host's own tools (blkid, mkfs.xfs, mount, ...): all on the
// ECS-optimized Amazon Linux 2023 AMI. Run returns the exit code, -1 when the command could
// not run at all.
type HostSystem interface {
	Run(ctx context.Context, name string, args ...string) (stdout string, exit int, err error)
}

// ExecSystem is HostSystem over os/exec.
type ExecSystem struct{}

func (ExecSystem) Run(ctx context.Context, name string, args ...string) (string, int, error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0, nil
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode(), fmt.Errorf("%s: %s", name, strings.TrimSpace(stderr.String()))
	}
	return "", -1, err
}

// Device name the volume is attached as; on Nitro instances it shows as an NVMe device.
const hostDeviceName = "/dev/xvdf"

// neo4jUID owns the data directory: the official image runs Neo4j as uid/gid 7474.
const neo4jUID = 7474

// AttachOptions configure AttachVolume.
type AttachOptions struct {
	Cluster, Member string // the volume must carry these tags (and the data role)
	VolumeID        string // the member's volume: the stack's own or an adopted one
	Mount           string // naming.DataMount
	LogGroup        string // the cluster's log group; the stream is naming.LogStreamBoot(Member)
	InstanceID, AZ  string // this instance (instance metadata)

	EC2    HostEC2API
	ASG    HostASGAPI
	Logs   LogSink // nil: the boot log goes to Stderr only
	System HostSystem
	// Root is where the host's file system is ("/"; tests: a fake tree with dev/, sys/ and
	// etc/). Files are read and written under it; commands get the real paths.
	Root   string
	Chown  func(path string, uid, gid int) error // default os.Chown
	Stderr io.Writer
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) bool // false when ctx ended
	// WaitAvailable bounds the wait for the volume to be free (a replaced instance may still
	// hold it); WaitDevice the wait for its device to appear. Defaults 30 and 2 minutes.
	WaitAvailable, WaitDevice time.Duration
}

func (o *AttachOptions) defaults() {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Chown == nil {
		o.Chown = os.Chown
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.WaitAvailable == 0 {
		o.WaitAvailable = 30 * time.Minute
	}
	if o.WaitDevice == 0 {
		o.WaitDevice = 2 * time.Minute
	}
	if o.System == nil {
		o.System = ExecSystem{}
	}
}

// bootLog writes to stderr (the user data's log, /var/log/neo4jctl-init.log) and to the
// member's boot log stream, best effort.
func (o *AttachOptions) bootLog(ctx context.Context, format string, a ...any) {
	msg := fmt.Sprintf("%s %s: ", o.InstanceID, o.Member) + fmt.Sprintf(format, a...)
	fmt.Fprintln(o.Stderr, "neo4jctl-agent: "+msg)
	if o.Logs == nil || o.LogGroup == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	stream := naming.LogStreamBoot(o.Member)
	if err := o.Logs.EnsureStream(ctx, o.LogGroup, stream); err == nil {
		err = o.Logs.Put(ctx, o.LogGroup, stream, []LogEvent{{Time: o.Now(), Message: msg}})
		if err != nil {
			fmt.Fprintf(o.Stderr, "neo4jctl-agent: boot log %s/%s: %v\n", o.LogGroup, stream, err)
		}
	} else {
		fmt.Fprintf(o.Stderr, "neo4jctl-agent: boot log %s/%s: %v\n", o.LogGroup, stream, err)
	}
}

// AttachVolume attaches, formats if blank, mounts and marks the member's volume. On failure
// it logs why to the boot log stream and marks the instance unhealthy before returning.
func AttachVolume(ctx context.Context, o AttachOptions) error {
	o.defaults()
	o.bootLog(ctx, "attaching data volume %s in %s", o.VolumeID, o.AZ)
	err := attachAndMount(ctx, &o)
	if err == nil {
		o.bootLog(ctx, "data volume %s mounted on %s", o.VolumeID, o.Mount)
		return nil
	}
	o.bootLog(ctx, "FAILED: %v; marking this instance unhealthy so that its Auto Scaling group replaces it", err)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, herr := o.ASG.SetInstanceHealth(hctx, &autoscaling.SetInstanceHealthInput{
		InstanceId: aws.String(o.InstanceID), HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(false),
	}); herr != nil {
		o.bootLog(ctx, "marking the instance unhealthy failed: %v", herr)
	}
	return err
}

func attachAndMount(ctx context.Context, o *AttachOptions) error {
	if o.VolumeID == "" || o.Member == "" || o.Cluster == "" || o.InstanceID == "" || o.AZ == "" {
		return fmt.Errorf("attach-volume needs the cluster, member, volume id, instance id and availability zone")
	}
	if err := o.attach(ctx); err != nil {
		return err
	}
	dev, err := o.waitDevice(ctx)
	if err != nil {
		return err
	}
	o.bootLog(ctx, "volume %s is %s", o.VolumeID, dev)
	return o.mount(ctx, dev)
}

// attach waits until the volume is free, attaches it here and waits for the attachment.
func (o *AttachOptions) attach(ctx context.Context) error {
	deadline := o.Now().Add(o.WaitAvailable)
	var lastErr error
	lastNote := time.Time{}
	for {
		v, err := o.describe(ctx)
		if err != nil {
			lastErr = err
		} else {
			if err := o.checkVolume(v); err != nil {
				return err // wrong volume: waiting does not help
			}
			holder, state := attachmentOf(v)
			switch {
			case holder == o.InstanceID && state == ec2types.VolumeAttachmentStateAttached:
				return nil
			case v.State == ec2types.VolumeStateAvailable:
				_, err := o.EC2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(o.VolumeID), InstanceId: aws.String(o.InstanceID), Device: aws.String(hostDeviceName)})
				if err != nil {
					lastErr = fmt.Errorf("ec2:AttachVolume: %w", err)
				}
			case holder != "" && holder != o.InstanceID:
				lastErr = fmt.Errorf("volume %s is %s on instance %s", o.VolumeID, state, holder)
				if o.Now().Sub(lastNote) >= time.Minute {
					o.bootLog(ctx, "waiting: %v (a replaced instance lets go of it when it terminates)", lastErr)
					lastNote = o.Now()
				}
			default:
				lastErr = fmt.Errorf("volume %s is %s", o.VolumeID, v.State)
			}
		}
		if !o.Now().Before(deadline) {
			return fmt.Errorf("volume %s did not attach within %s: %w", o.VolumeID, o.WaitAvailable, lastErr)
		}
		if !o.Sleep(ctx, 10*time.Second) {
			return ctx.Err()
		}
	}
}

func (o *AttachOptions) describe(ctx context.Context) (*ec2types.Volume, error) {
	out, err := o.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{o.VolumeID}})
	if err != nil {
		return nil, fmt.Errorf("ec2:DescribeVolumes %s: %w", o.VolumeID, err)
	}
	if len(out.Volumes) != 1 {
		return nil, fmt.Errorf("volume %s not found", o.VolumeID)
	}
	return &out.Volumes[0], nil
}

// checkVolume refuses a volume of another cluster or member, or one this instance cannot
// attach (another AZ): never mount someone else's data.
func (o *AttachOptions) checkVolume(v *ec2types.Volume) error {
	tags := map[string]string{}
	for _, t := range v.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	for k, want := range map[string]string{naming.TagCluster: o.Cluster, naming.TagMember: o.Member, naming.TagRole: naming.TagRoleData} {
		if tags[k] != want {
			return fmt.Errorf("volume %s has tag %s=%q, want %q: it is not the data volume of %s of cluster %s", o.VolumeID, k, tags[k], want, o.Member, o.Cluster)
		}
	}
	if az := aws.ToString(v.AvailabilityZone); az != o.AZ {
		return fmt.Errorf("volume %s is in %s and this instance in %s: an instance attaches volumes of its own AZ only", o.VolumeID, az, o.AZ)
	}
	return nil
}

func attachmentOf(v *ec2types.Volume) (instance string, state ec2types.VolumeAttachmentState) {
	for _, a := range v.Attachments {
		return aws.ToString(a.InstanceId), a.State
	}
	return "", ""
}

// waitDevice waits for the attached volume's block device to appear.
func (o *AttachOptions) waitDevice(ctx context.Context) (string, error) {
	deadline := o.Now().Add(o.WaitDevice)
	for {
		if dev, ok := ResolveDevice(o.Root, o.VolumeID, hostDeviceName); ok {
			return dev, nil
		}
		if !o.Now().Before(deadline) {
			return "", fmt.Errorf("volume %s is attached but no block device for it appeared within %s", o.VolumeID, o.WaitDevice)
		}
		if !o.Sleep(ctx, 2*time.Second) {
			return "", ctx.Err()
		}
	}
}

// ResolveDevice finds the block device of an attached EBS volume under root: on Nitro
// instances an NVMe namespace whose serial is the volume id without its dash (udev's by-id
// link, else the controller's serial in sysfs); on Xen instances the requested device name
// (or its sd* twin). It returns the device's path without symlinks, still under root.
func ResolveDevice(root, volumeID, requested string) (string, bool) {
	serial := strings.ReplaceAll(volumeID, "-", "")
	real := func(p string) (string, bool) {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", false
		}
		if fi, err := os.Stat(r); err != nil || fi.IsDir() {
			return "", false
		}
		return r, true
	}
	byID, _ := filepath.Glob(filepath.Join(root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"+serial+"*"))
	sort.Strings(byID)
	for _, p := range byID {
		if strings.Contains(filepath.Base(p), "-part") {
			continue
		}
		if r, ok := real(p); ok {
			return r, true
		}
	}
	namespaces, _ := filepath.Glob(filepath.Join(root, "sys/block/nvme*n1"))
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		s, err := os.ReadFile(filepath.Join(ns, "device/serial"))
		if err == nil && strings.TrimSpace(string(s)) == serial {
			if r, ok := real(filepath.Join(root, "dev", filepath.Base(ns))); ok {
				return r, true
			}
		}
	}
	for _, p := range []string{requested, strings.Replace(requested, "/dev/xvd", "/dev/sd", 1)} {
		if r, ok := real(filepath.Join(root, p)); ok {
			return r, true
		}
	}
	return "", false
}

// hostPath is a device or file path as the host's commands see it (without the test root).
func (o *AttachOptions) hostPath(p string) string {
	rel, err := filepath.Rel(o.Root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return "/" + rel
}

// mount formats a blank volume (only a blank one), mounts it through an fstab entry (so it
// comes back on reboot and systemd knows the mount unit ecs.service requires), grows the file
// system to the volume (cores.volume.sizeGiB may have grown it) and writes the marker.
func (o *AttachOptions) mount(ctx context.Context, devUnderRoot string) error {
	dev := o.hostPath(devUnderRoot)
	fsType, exit, err := o.System.Run(ctx, "blkid", "-p", "-s", "TYPE", "-o", "value", dev)
	fsType = strings.TrimSpace(fsType)
	switch {
	case exit == 2: // blkid found no signature
		if !zeroHead(devUnderRoot) {
			return fmt.Errorf("%s (%s) has no file system blkid knows but is not blank: refusing to format it; look at it by hand", dev, o.VolumeID)
		}
		o.bootLog(ctx, "%s is blank: making an XFS file system", dev)
		if _, _, err := o.System.Run(ctx, "mkfs.xfs", "-L", "neo4j-data", dev); err != nil {
			return fmt.Errorf("formatting %s: %w", dev, err)
		}
	case err != nil:
		return fmt.Errorf("probing %s: %w", dev, err)
	case fsType != "xfs":
		return fmt.Errorf("%s (%s) holds a %q file system, not neo4jctl's xfs: refusing to mount or format it", dev, o.VolumeID, fsType)
	}
	uuid, _, err := o.System.Run(ctx, "blkid", "-s", "UUID", "-o", "value", dev)
	if uuid = strings.TrimSpace(uuid); err != nil || uuid == "" {
		return fmt.Errorf("reading the file system UUID of %s: %v", dev, err)
	}
	if err := o.fstab(uuid); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(o.Root, o.Mount), 0o755); err != nil {
		return err
	}
	if _, _, err := o.System.Run(ctx, "systemctl", "daemon-reload"); err != nil {
		return fmt.Errorf("systemctl daemon-reload: %w", err)
	}
	if _, exit, _ := o.System.Run(ctx, "mountpoint", "-q", o.Mount); exit != 0 {
		if _, _, err := o.System.Run(ctx, "mount", o.Mount); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", dev, o.Mount, err)
		}
	}
	if _, exit, _ := o.System.Run(ctx, "mountpoint", "-q", o.Mount); exit != 0 {
		return fmt.Errorf("%s is not mounted on %s after mount", dev, o.Mount)
	}
	if _, _, err := o.System.Run(ctx, "xfs_growfs", o.Mount); err != nil {
		o.bootLog(ctx, "growing the file system on %s: %v (it keeps its size)", o.Mount, err)
	}
	marker := filepath.Join(o.Root, o.Mount, naming.VolumeMarker)
	if err := os.WriteFile(marker, []byte(o.VolumeID+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the volume marker: %w", err)
	}
	for _, p := range []string{filepath.Join(o.Root, o.Mount), marker} {
		if err := o.Chown(p, neo4jUID, neo4jUID); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
	}
	return nil
}

// zeroHead tells whether the first MiB of a device reads as zeros: blkid knowing no file
// system is not enough to format (it does not know everything).
func zeroHead(dev string) bool {
	f, err := os.Open(dev)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false
	}
	return bytes.Count(buf[:n], []byte{0}) == n
}

// fstab adds the volume's line to etc/fstab unless the UUID is there already.
func (o *AttachOptions) fstab(uuid string) error {
	path := filepath.Join(o.Root, "etc/fstab")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if bytes.Contains(old, []byte("UUID="+uuid+" ")) {
		return nil
	}
	line := fmt.Sprintf("UUID=%s %s xfs defaults,noatime,nofail 0 2\n", uuid, o.Mount)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		line = "\n" + line
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
