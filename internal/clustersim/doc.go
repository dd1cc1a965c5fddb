// Package clustersim is a SIMULATOR of a Neo4j Enterprise cluster for tests: Enterprise
// clustering cannot run on the test machines, and the orchestration built on the admin
// channel (create waiting for a formed cluster, rolling restart, scale, upgrade, stop/start)
// has to be tested through state transitions, not single recorded answers. Production code
// never imports it.
//
// It models servers (state and health), databases (requested and current status, allocation,
// a leader with a term, replication lag) and the transitions the Neo4j Operations Manual
// documents. It is driven by which member tasks run (the ECS services' counts and
// deployments, as a test reads them from moto, where nothing really runs) and by a fake
// clock, and it answers the Cypher that neo4jadmin sends, so the real admin client, the real
// admin Lambda handler and its JSON all run against it.
//
// # Using it
//
//	sim := clustersim.New(clustersim.Config{Cores: 3, DefaultSecondaries: 2,
//		Databases: []clustersim.DatabaseSpec{{Name: "shop", Primaries: 3, Secondaries: 2}}})
//	sim.Apply(clustersim.Services{"core-1": {Running: 1}, "core-2": {Running: 1},
//		"core-3": {Running: 1}, "replicas": {Running: 2}})
//	sim.Advance(2 * time.Minute)      // formation, elections, catch-up take simulated time
//	out, _ := sim.Invoke(ctx, payload) // the admin Lambda: JSON request in, JSON answer out
//	sim.Restart("core-2")             // or Apply with a new Deployment for core-2
//	sim.Fault("core-3", clustersim.NeverAvailable)
//	st := sim.Stats()                 // restarts per member, leader changes per database,
//	                                  // quorum losses, fewest primaries online, time without writer
//
// # Rules and where the manual says so
//
// Pages are under https://neo4j.com/docs/operations-manual/5/ (the same in 2025.x unless
// noted).
//
//   - Formation: a new cluster forms once dbms.cluster.minimum_initial_system_primaries_count
//     servers (Config.Cores, as the stacks set it) have discovered each other and bootstrapped
//     the system database; the servers of the initial deployment are enabled; the default
//     database is created with initial.dbms.default_primaries_count primaries (at most as many
//     as there are servers that can host one) [clustering/setup/deploy,
//     clustering/databases#cluster-default-database].
//   - A restarted cluster needs no such count: a database (system included) has a leader, and
//     accepts writes, once a simple majority of its primaries is online [clustering/introduction,
//     clustering/setup/routing#clustering-elections-and-leadership].
//   - A server that joins a formed cluster starts Free with a new generated id and hosts
//     nothing until enabled (ENABLE SERVER, or automatically with
//     initial.dbms.automatically_enable_free_servers=true, which the stacks set; see
//     Config.ManualEnable); once enabled it still hosts nothing until databases are created,
//     topologies raised, another server deallocated, or databases reallocated
//     [clustering/servers#server-enabled-state, #_hosting_databases_on_added_servers].
//   - Server states Free, Enabled, Cordoned, Deallocating, Deallocated, Dropped, health
//     Available/Unavailable [clustering/servers#server-states,
//     clustering/monitoring/show-servers-monitoring]. A stopped member becomes Unavailable.
//   - A core keeps its server id across restarts: the id lives with its store, on the member's
//     volume; only unbinding or reinstalling makes a new one [clustering/servers#_dropped_state,
//     tools/neo4j-admin/unbind]. A replica has no volume: its replacement task joins as a new
//     server, and the old one stays in SHOW SERVERS, Unavailable, until it is deallocated and
//     dropped. A core member made again on a new volume (Sim.NewVolume, after its server was
//     dropped: a dropped server cannot come back) joins as a new server, Free, with a new id.
//   - DEALLOCATE DATABASES FROM SERVER moves the server's user databases to other enabled
//     servers (each new copy first store-copies, the old one stops once it is online, so the
//     primaries count never drops), Deallocating until done, then Deallocated; it is refused
//     when a hosted database is offline, has a single primary, when a quorum of its primaries
//     is cordoned, or when the other servers cannot satisfy a topology. DROP SERVER needs
//     Deallocated; a Dropped server disappears once its process stops
//     [clustering/servers#removing-servers, clustering/server-syntax].
//   - Cordoned servers keep their databases and get no new ones; ENABLE SERVER undoes it
//     [clustering/servers#_cordoned_state].
//   - Leaders: only primaries are elected, by a majority, the most up-to-date one wins; a
//     leader whose server stops loses its leaderships to an available primary after an
//     election timeout; leaderships are balanced equally over the primaries unless
//     NO_BALANCING, and moved away from a server where the database is read-only
//     (server.databases.read_only, dynamic, per server, cleared by a restart)
//     [clustering/setup/routing, procedures#procedure_dbms_setConfigValue].
//   - SHOW DATABASES has a row per database per server; a copy on an unavailable server shows
//     address NULL, currentStatus unknown, statusMessage "Server is unavailable", role
//     unknown; replicationLag is the transactions behind the writer
//     [clustering/monitoring/show-databases-monitoring].
//   - ALTER DATABASE ... SET TOPOLOGY allocates or removes copies (cordoned servers' first),
//     refuses what the servers cannot satisfy and a move to a single primary; REALLOCATE
//     DATABASES and dbms.cluster.reallocateDatabase rebalance, DRYRUN shows the moves
//     [clustering/databases#alter-topology, #reallocate-databases].
//   - dbms.cluster.recreateDatabase (5.24 to 2025.03) and dbms.recreateDatabase (2025.04+)
//     replace every copy's store from the seed, keeping the topology unless given one; the
//     database is unavailable until its copies are online again
//     [database-administration/standard-databases/recreate-database].
//   - dbms.cluster.statusCheck answers, for each database the requester hosts as a primary,
//     a row per primary with the recognised leader and its term [clustering/monitoring/status-check].
//
// What it does not model: data, queries other than the admin contract's, network partitions
// (a server is Available exactly when its process runs and has joined), per-server views
// that disagree, the allocator's real heuristics (it places copies on the least loaded
// eligible servers), Neo4j's exact error texts (refusals carry the simulator's own message
// under a plausible Neo4j code), what SHOW SERVERS lists as hosting for an unavailable server
// (the manual does not say; the simulator lists nothing), STOP DATABASE, and whether Neo4j
// allows DROP SERVER on a Free server (the manual asks for Deallocated; so does the simulator).
package clustersim
