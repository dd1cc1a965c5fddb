package cluster

import (
	"reflect"
	"testing"
)

func TestTransitEncryption(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want TransitEncryption
	}{
		{"cores: {instanceType: r7g.large}", TransitEncryption{CoreToCore: true}},
		{"cores: {count: 1, allowNonHA: true, instanceType: t4g.xlarge}", TransitEncryption{Unencrypting: []string{"t4g.xlarge"}}},
		{"cores: {instanceType: r7i.large}\nreplicas: {count: 2, instanceTypes: [r7i.large, r6i.large]}",
			TransitEncryption{CoreToCore: true, CoreToReplica: true, ReplicaToReplica: true}},
		{"cores: {instanceType: r7g.large}\nreplicas: {count: 2, instanceTypes: [r7g.large, r6g.large]}",
			TransitEncryption{CoreToCore: true, Unencrypting: []string{"r6g.large"}}},
		{"cores: {instanceType: r6g.large}\nreplicas: {count: 2, instanceTypes: [r6g.large, r7g.large]}",
			TransitEncryption{Unencrypting: []string{"r6g.large"}}},
		{"cores: {instanceType: r7g.large}\nreplicas: {count: 0, instanceTypes: [r6g.large, r7g.large]}", TransitEncryption{CoreToCore: true}},
	} {
		f, err := Decode([]byte("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: t, region: eu-west-1}\nneo4j: {acceptLicense: \"yes\"}\n" + tc.yaml + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		SetDefaults(f.Config)
		if got := f.Config.TransitEncryption(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.yaml, got, tc.want)
		}
	}
	for typ, want := range map[string]bool{"r7g.large": true, "m7i-flex.large": true, "u-6tb1.metal": true, "r6g.large": false, "t3.large": false, "r7g": false, "c8g.xlarge": true} {
		if got := EncryptsInTransit(typ); got != want {
			t.Errorf("EncryptsInTransit(%s) = %v", typ, got)
		}
	}
}
