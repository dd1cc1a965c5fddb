package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// fakeSystem stands in for the host's blkid, mkfs.xfs, mount and friends (they need root
// and a real block device): it keeps a file system type per device and a mounted flag, and
// records every command.
type fakeSystem struct {
	mu      sync.Mutex
	fsType  map[string]string // device (host path) -> file system type; "" blank
	mounted bool
	calls   []string
}

func (f *fakeSystem) Run(_ context.Context, name string, args ...string) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	last := args[len(args)-1]
	switch name {
	case "blkid":
		typ := f.fsType[last]
		if typ == "" {
			return "", 2, fmt.Errorf("blkid: nothing found")
		}
		if slices.Contains(args, "UUID") {
			return "0a1b2c3d-uuid\n", 0, nil
		}
		return typ + "\n", 0, nil
	case "mkfs.xfs":
		f.fsType[last] = "xfs"
	case "mountpoint":
		if !f.mounted {
			return "", 1, nil
		}
	case "mount":
		f.mounted = true
	}
	return "", 0, nil
}

func (f *fakeSystem) ran(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// hostBed is one instance of an Auto Scaling group in moto, a log group, and a fake host
// file system (root) with an NVMe device for the volume under test.
type hostBed struct {
	ec2      *ec2.Client
	asg      *autoscaling.Client
	logs     *cloudwatchlogs.Client
	instance string
	az       string
	root     string
}

func newHostBed(t *testing.T) *hostBed {
	t.Helper()
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	b := &hostBed{ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), root: t.TempDir()}
	images, err := b.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	lt, err := b.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("core-1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeR7gLarge}})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	if _, err := b.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("core-1"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		AvailabilityZones: []string{"eu-west-1a"},
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId},
	}); err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	groups, err := b.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"core-1"}})
	if err != nil || len(groups.AutoScalingGroups) != 1 || len(groups.AutoScalingGroups[0].Instances) != 1 {
		t.Fatalf("the group's instance: %v", err)
	}
	inst := groups.AutoScalingGroups[0].Instances[0]
	b.instance, b.az = aws.ToString(inst.InstanceId), aws.ToString(inst.AvailabilityZone)
	if _, err := b.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/neo4jctl/g")}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	for _, d := range []string{"etc", "dev/disk/by-id"} {
		if err := os.MkdirAll(filepath.Join(b.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// volume makes a data volume with the member's tags in az (the instance's when "").
func (b *hostBed) volume(t *testing.T, az, member string) string {
	t.Helper()
	if az == "" {
		az = b.az
	}
	out, err := b.ec2.CreateVolume(context.Background(), &ec2.CreateVolumeInput{AvailabilityZone: aws.String(az), Size: aws.Int32(100),
		VolumeType: ec2types.VolumeTypeGp3, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{
			{Key: aws.String(naming.TagCluster), Value: aws.String("g")},
			{Key: aws.String(naming.TagMember), Value: aws.String(member)},
			{Key: aws.String(naming.TagRole), Value: aws.String(naming.TagRoleData)},
		}}}})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	return aws.ToString(out.VolumeId)
}

// nvmeDevice makes the NVMe namespace the attached volume shows as, with udev's by-id link;
// head is written at its start (the rest reads as zeros).
func (b *hostBed) nvmeDevice(t *testing.T, volumeID string, head []byte) string {
	t.Helper()
	dev := filepath.Join(b.root, "dev/nvme1n1")
	if err := os.WriteFile(dev, append(head, make([]byte, 2<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(b.root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"+strings.ReplaceAll(volumeID, "-", ""))
	if err := os.Symlink("../../nvme1n1", link); err != nil {
		t.Fatal(err)
	}
	return "/dev/nvme1n1"
}

func (b *hostBed) options(volumeID string, sys HostSystem, now *time.Time, chowned *[]string) AttachOptions {
	return AttachOptions{
		Cluster: "g", Member: "core-1", VolumeID: volumeID, Mount: naming.DataMount, LogGroup: "/neo4jctl/g",
		InstanceID: b.instance, AZ: b.az, EC2: b.ec2, ASG: b.asg, Logs: CloudWatchLogs{Logs: b.logs}, System: sys, Root: b.root,
		Chown: func(p string, uid, gid int) error {
			*chowned = append(*chowned, fmt.Sprintf("%s %d:%d", strings.TrimPrefix(p, b.root), uid, gid))
			return nil
		},
		Now:   func() time.Time { return *now },
		Sleep: func(_ context.Context, d time.Duration) bool { *now = now.Add(d); return true },
	}
}

func (b *hostBed) health(t *testing.T) string {
	t.Helper()
	out, err := b.asg.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{b.instance}})
	if err != nil || len(out.AutoScalingInstances) != 1 {
		t.Fatalf("DescribeAutoScalingInstances: %v", err)
	}
	return strings.ToUpper(aws.ToString(out.AutoScalingInstances[0].HealthStatus))
}

func (b *hostBed) bootLog(t *testing.T) string {
	t.Helper()
	out, err := b.logs.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/neo4jctl/g"),
		LogStreamName: aws.String(naming.LogStreamBoot("core-1")), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents %s: %v", naming.LogStreamBoot("core-1"), err)
	}
	var lines []string
	for _, e := range out.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	return strings.Join(lines, "\n")
}

func (b *hostBed) attachedTo(t *testing.T, volumeID string) string {
	t.Helper()
	out, err := b.ec2.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: []string{volumeID}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes %s: %v", volumeID, err)
	}
	for _, a := range out.Volumes[0].Attachments {
		return aws.ToString(a.InstanceId)
	}
	return ""
}

// TestAttachVolumeInMoto: the member's volume is found by id, checked by its tags and AZ,
// attached through moto's EC2, formatted only when blank, mounted through fstab and marked;
// each step goes to the member's boot log stream in moto's CloudWatch Logs.
func TestAttachVolumeInMoto(t *testing.T) {
	t.Run("blank volume: formatted, mounted, marked", func(t *testing.T) {
		b := newHostBed(t)
		vol := b.volume(t, "", "core-1")
		dev := b.nvmeDevice(t, vol, nil)
		sys := &fakeSystem{fsType: map[string]string{}}
		now, chowned := time.Now(), []string{}
		if err := AttachVolume(context.Background(), b.options(vol, sys, &now, &chowned)); err != nil {
			t.Fatal(err)
		}
		if got := b.attachedTo(t, vol); got != b.instance {
			t.Errorf("volume attached to %q, want %s", got, b.instance)
		}
		if !sys.ran("mkfs.xfs -L neo4j-data " + dev) {
			t.Errorf("blank volume not formatted: %v", sys.calls)
		}
		fstab, _ := os.ReadFile(filepath.Join(b.root, "etc/fstab"))
		if want := "UUID=0a1b2c3d-uuid " + naming.DataMount + " xfs defaults,noatime,nofail 0 2\n"; string(fstab) != want {
			t.Errorf("fstab %q, want %q", fstab, want)
		}
		marker, _ := os.ReadFile(filepath.Join(b.root, naming.DataMount, naming.VolumeMarker))
		if strings.TrimSpace(string(marker)) != vol {
			t.Errorf("marker %q, want %s", marker, vol)
		}
		if want := []string{naming.DataMount + " 7474:7474", naming.DataMount + "/" + naming.VolumeMarker + " 7474:7474"}; !slices.Equal(chowned, want) {
			t.Errorf("chown %v, want %v", chowned, want)
		}
		if !sys.ran("mount "+naming.DataMount) || !sys.ran("xfs_growfs "+naming.DataMount) {
			t.Errorf("not mounted and grown: %v", sys.calls)
		}
		if log := b.bootLog(t); !strings.Contains(log, "mounted on "+naming.DataMount) || !strings.Contains(log, b.instance) {
			t.Errorf("boot log:\n%s", log)
		}
		if h := b.health(t); h != "HEALTHY" {
			t.Errorf("instance health %s", h)
		}
		// a second run (a reboot) finds it attached, formatted and in fstab: nothing is redone
		sys.calls = nil
		if err := AttachVolume(context.Background(), b.options(vol, sys, &now, &chowned)); err != nil {
			t.Fatal(err)
		}
		if sys.ran("mkfs") {
			t.Errorf("formatted again on the second run: %v", sys.calls)
		}
		if fstab2, _ := os.ReadFile(filepath.Join(b.root, "etc/fstab")); string(fstab2) != string(fstab) {
			t.Errorf("fstab changed on the second run: %q", fstab2)
		}
	})

	t.Run("volume with data: never formatted", func(t *testing.T) {
		b := newHostBed(t)
		vol := b.volume(t, "", "core-1")
		dev := b.nvmeDevice(t, vol, []byte("XFSB"))
		sys := &fakeSystem{fsType: map[string]string{dev: "xfs"}}
		now, chowned := time.Now(), []string{}
		if err := AttachVolume(context.Background(), b.options(vol, sys, &now, &chowned)); err != nil {
			t.Fatal(err)
		}
		if sys.ran("mkfs") {
			t.Errorf("a volume with an XFS file system was formatted: %v", sys.calls)
		}
	})

	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *hostBed, sys *fakeSystem) string // returns the volume id
		want    string
	}{
		{"another AZ", func(t *testing.T, b *hostBed, _ *fakeSystem) string {
			return b.volume(t, "eu-west-1c", "core-1")
		}, "an instance attaches volumes of its own AZ only"},
		{"another member's volume", func(t *testing.T, b *hostBed, _ *fakeSystem) string {
			return b.volume(t, "", "core-2")
		}, `tag neo4jctl.io/member="core-2", want "core-1"`},
		{"unknown bytes, no file system", func(t *testing.T, b *hostBed, _ *fakeSystem) string {
			vol := b.volume(t, "", "core-1")
			b.nvmeDevice(t, vol, []byte("LUKS\xba\xbe"))
			return vol
		}, "is not blank: refusing to format it"},
		{"a foreign file system", func(t *testing.T, b *hostBed, sys *fakeSystem) string {
			vol := b.volume(t, "", "core-1")
			sys.fsType[b.nvmeDevice(t, vol, []byte("ext4"))] = "ext4"
			return vol
		}, `holds a "ext4" file system`},
		{"no device appears", func(t *testing.T, b *hostBed, _ *fakeSystem) string {
			return b.volume(t, "", "core-1")
		}, "no block device for it appeared within 2m0s"},
		{"held by another instance", func(t *testing.T, b *hostBed, _ *fakeSystem) string {
			vol := b.volume(t, "", "core-1")
			other, err := b.ec2.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				Placement: &ec2types.Placement{AvailabilityZone: aws.String(b.az)}})
			if err != nil {
				t.Fatalf("RunInstances: %v", err)
			}
			if _, err := b.ec2.AttachVolume(context.Background(), &ec2.AttachVolumeInput{VolumeId: aws.String(vol), InstanceId: other.Instances[0].InstanceId, Device: aws.String("/dev/xvdg")}); err != nil {
				t.Fatalf("AttachVolume: %v", err)
			}
			return vol
		}, "did not attach within 30m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHostBed(t)
			sys := &fakeSystem{fsType: map[string]string{}}
			vol := tc.prepare(t, b, sys)
			now, chowned := time.Now(), []string{}
			err := AttachVolume(context.Background(), b.options(vol, sys, &now, &chowned))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if sys.ran("mkfs") || sys.ran("mount ") {
				t.Errorf("formatted or mounted on failure: %v", sys.calls)
			}
			if _, err := os.Stat(filepath.Join(b.root, naming.DataMount, naming.VolumeMarker)); err == nil {
				t.Error("marker written on failure")
			}
			if h := b.health(t); h != "UNHEALTHY" {
				t.Errorf("instance health %s after a failed attach, want UNHEALTHY (so the group replaces it)", h)
			}
			if log := b.bootLog(t); !strings.Contains(log, "FAILED: ") || !strings.Contains(log, tc.want) {
				t.Errorf("the boot log does not say why:\n%s", log)
			}
		})
	}
}

// TestResolveDevice: the volume's block device from udev's by-id link, the NVMe
// controller's serial in sysfs (no udev link yet), or the Xen device name.
func TestResolveDevice(t *testing.T) {
	const vol = "vol-0123456789abcdef0"
	serial := "vol0123456789abcdef0"
	file := func(t *testing.T, root, p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(t *testing.T, root, p, target string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  string // under root; "" none
	}{
		{"udev by-id link", func(t *testing.T, root string) {
			file(t, root, "dev/nvme0n1", "root")
			file(t, root, "dev/nvme2n1", "data")
			link(t, root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0fffffffffffffff0", "../../nvme0n1")
			link(t, root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"+serial+"-part1", "../../nvme0n1")
			link(t, root, "dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"+serial, "../../nvme2n1")
		}, "dev/nvme2n1"},
		{"sysfs serial, no udev link yet", func(t *testing.T, root string) {
			file(t, root, "dev/nvme0n1", "root")
			file(t, root, "dev/nvme1n1", "data")
			file(t, root, "sys/block/nvme0n1/device/serial", "vol0fffffffffffffff0\n")
			file(t, root, "sys/block/nvme1n1/device/serial", serial+"      \n")
		}, "dev/nvme1n1"},
		{"Xen device name", func(t *testing.T, root string) {
			file(t, root, "dev/xvdf", "data")
		}, "dev/xvdf"},
		{"sd twin of the name", func(t *testing.T, root string) {
			file(t, root, "dev/nvme1n1", "data")
			link(t, root, "dev/sdf", "nvme1n1")
		}, "dev/nvme1n1"},
		{"nothing yet", func(t *testing.T, root string) {
			file(t, root, "dev/nvme0n1", "root")
			file(t, root, "sys/block/nvme0n1/device/serial", "vol0fffffffffffffff0")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			got, ok := ResolveDevice(root, vol, "/dev/xvdf")
			if tc.want == "" {
				if ok {
					t.Fatalf("resolved %s, want nothing", got)
				}
				return
			}
			if want, _ := filepath.EvalSymlinks(filepath.Join(root, tc.want)); !ok || got != want {
				t.Fatalf("resolved %q (%v), want %s", got, ok, want)
			}
		})
	}
}
