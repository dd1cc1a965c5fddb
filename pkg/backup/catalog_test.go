package backup

import (
	"testing"
	"time"
)

// TestCatalog: chains newest first with their expiry, the newest restorable point, artifacts
// no manifest knows (listed from their keys), manifest entries whose objects are gone.
func TestCatalog(t *testing.T) {
	byDB := entriesFrom(t, "inspect-2025.07-empty.txt")
	manifests := map[string]*Manifest{}
	var objects []Object
	for db, es := range byDB {
		m := NewManifest(db)
		m.Artifacts = es
		m.Normalize()
		manifests[db] = m
		for _, e := range es {
			objects = append(objects, Object{Key: e.Key, Size: e.SizeBytes})
		}
	}
	// verified: malmo's first full
	manifests["malmo"].Find(Prefix + "malmo-2024-10-07T16-00-07.backup").Verified = &Verification{Verdict: VerdictConsistent}
	// a backup made before manifests existed, and one deleted behind neo4jctl's back
	objects = append(objects, Object{Key: Prefix + "shop-2024-10-01T02-00-00.backup", Size: 7},
		Object{Key: ManifestKey("malmo")}, Object{Key: LockKey})
	gone := Prefix + "london-2024-10-07T16-04-05.backup"
	for i, o := range objects {
		if o.Key == gone {
			objects = append(objects[:i], objects[i+1:]...)
			break
		}
	}
	cat := Catalog(objects, manifests, 7)
	if len(cat) != 4 || cat[0].Name != "london" || cat[3].Name != "shop" {
		t.Fatalf("databases %+v", cat)
	}
	london, malmo, shop := cat[0], cat[1], cat[3]
	if len(london.Missing) != 1 || london.Missing[0].Key != gone || len(london.Chains) != 1 || len(london.Chains[0].Artifacts) != 1 {
		t.Errorf("london: %+v", london)
	}
	if len(malmo.Chains) != 3 || malmo.Chains[0].ID != "malmo-2024-10-07T16-01-24" || malmo.Newest == nil || malmo.Newest.Key != Prefix+"malmo-2024-10-07T16-01-24.backup" {
		t.Fatalf("malmo: %+v", malmo)
	}
	oldest := malmo.Chains[2]
	if oldest.ExpiresAt == nil || !oldest.ExpiresAt.Equal(time.Date(2024, 10, 14, 16, 1, 8, 0, time.UTC)) || oldest.HighestTx != 7 || oldest.SizeBytes != 500 {
		t.Errorf("oldest malmo chain: %+v", oldest)
	}
	if oldest.Verified == nil || oldest.Verified.Key != Prefix+"malmo-2024-10-07T16-00-07.backup" {
		t.Errorf("oldest malmo chain verified: %+v", oldest.Verified)
	}
	if malmo.Chains[0].ExpiresAt != nil {
		t.Error("the newest chain expires")
	}
	if len(shop.Unrecorded) != 1 || shop.Unrecorded[0].Origin != OriginKey || shop.Unrecorded[0].SizeBytes != 7 || shop.Newest != nil || len(shop.Chains) != 0 {
		t.Errorf("shop: %+v", shop)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := NewManifest("malmo")
	m.Artifacts = entriesFrom(t, "inspect-5.26-show-metadata-empty.txt")["malmo"]
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeManifest(b)
	if err != nil || len(back.Artifacts) != 7 || back.Artifacts[0].Type != TypeFull || back.Artifacts[1].Chain != "malmo-2024-10-07T16-00-07" ||
		!back.Artifacts[1].Empty() || back.Artifacts[0].Recovered != nil {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := DecodeManifest([]byte(`{"kind":"Something"}`)); err == nil {
		t.Error("a foreign document decoded")
	}
}
