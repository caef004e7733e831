/**
 * How the front ends write values for people — one formatter each, below the service, handed to the CLI and
 * the Electron shell from here (they import only the service and the API): endpoints, durations, and text from
 * the network made inert before it reaches a terminal.
 */
export { formatMs } from '../common/format'
export { formatHostPort } from '../common/host-port'
export { inert } from '../common/inert-text'
