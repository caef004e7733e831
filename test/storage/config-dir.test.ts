import { describe, it, expect } from 'vitest'
import { configDir, configPaths } from '../../src-main/storage/config-dir'

describe('configDir', () => {
  it('Linux: $XDG_CONFIG_HOME/kms-scout when set and absolute', () => {
    expect(configDir({ platform: 'linux', env: { XDG_CONFIG_HOME: '/srv/cfg' }, homedir: '/home/ana' })).toBe('/srv/cfg/kms-scout')
  })

  it('Linux: ~/.config/kms-scout when XDG_CONFIG_HOME is unset, empty or relative', () => {
    for (const env of [{}, { XDG_CONFIG_HOME: '' }, { XDG_CONFIG_HOME: 'relative/dir' }]) {
      expect(configDir({ platform: 'linux', env, homedir: '/home/ana' })).toBe('/home/ana/.config/kms-scout')
    }
  })

  it('other Unix systems follow the XDG rules too', () => {
    expect(configDir({ platform: 'freebsd', env: {}, homedir: '/usr/home/bo' })).toBe('/usr/home/bo/.config/kms-scout')
  })

  it('macOS: ~/Library/Application Support/kms-scout (XDG is not used)', () => {
    expect(configDir({ platform: 'darwin', env: { XDG_CONFIG_HOME: '/x' }, homedir: '/Users/ana' })).toBe(
      '/Users/ana/Library/Application Support/kms-scout'
    )
  })

  it('Windows: %APPDATA%\\kms-scout, with Windows path rules on any host OS', () => {
    expect(configDir({ platform: 'win32', env: { APPDATA: 'C:\\Users\\Ana\\AppData\\Roaming' }, homedir: 'C:\\Users\\Ana' })).toBe(
      'C:\\Users\\Ana\\AppData\\Roaming\\kms-scout'
    )
  })

  it('Windows: falls back to <home>\\AppData\\Roaming when APPDATA is missing', () => {
    expect(configDir({ platform: 'win32', env: {}, homedir: 'C:\\Users\\Ana' })).toBe('C:\\Users\\Ana\\AppData\\Roaming\\kms-scout')
  })

  it('KMS_SCOUT_CONFIG_DIR overrides every platform', () => {
    expect(configDir({ platform: 'linux', env: { KMS_SCOUT_CONFIG_DIR: '/tmp/t1/', XDG_CONFIG_HOME: '/x' }, homedir: '/h' })).toBe(
      '/tmp/t1/'
    )
    expect(configDir({ platform: 'darwin', env: { KMS_SCOUT_CONFIG_DIR: '/tmp/t2' }, homedir: '/h' })).toBe('/tmp/t2')
    expect(configDir({ platform: 'win32', env: { KMS_SCOUT_CONFIG_DIR: 'D:/portable/cfg', APPDATA: 'C:\\x' }, homedir: 'C:\\h' })).toBe(
      'D:\\portable\\cfg'
    )
  })

  it('ignores an empty override', () => {
    expect(configDir({ platform: 'linux', env: { KMS_SCOUT_CONFIG_DIR: '  ' }, homedir: '/home/ana' })).toBe('/home/ana/.config/kms-scout')
  })
})

describe('configPaths', () => {
  it('names the shared files inside the directory', () => {
    expect(configPaths('/c/kms-scout', 'linux')).toEqual({
      dir: '/c/kms-scout',
      settings: '/c/kms-scout/settings.json',
      identity: '/c/kms-scout/identity.json',
      hostCache: '/c/kms-scout/host-cache.json',
      clientLog: '/c/kms-scout/client-log.sqlite'
    })
    expect(configPaths('C:\\cfg', 'win32').identity).toBe('C:\\cfg\\identity.json')
  })
})
