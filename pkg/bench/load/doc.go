// Package load decides when requests leave and sends them: arrival
// processes (schedule.go: sequential, closed loop of N users with think
// time, open loop at a constant or Poisson rate that responses never
// pace), the runner that drives every target × scenario through the
// engine client and hands each finished Record to its sinks (runner.go,
// sink.go), the SLO guard that ends a level which can no longer hold
// (guard.go), the capacity search that grows and bisects levels until
// the SLO is just met (capacity.go), and the interactive race and conversation (race.go,
// conversation.go). A new load shape goes here.
package load
