import { render, screen, waitFor } from '@testing-library/svelte'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import SettingsPage from '../../src-renderer/src/pages/SettingsPage.svelte'
import { defaultSettings } from '../../src-main/storage/settings'
import { installFakeKms } from './fake-kms'

describe('SettingsPage', () => {
  it('shows load warnings and saves a manual KMS host through the API', async () => {
    const kms = installFakeKms({
      getSettings: async () => ({
        ok: true,
        value: { settings: defaultSettings(), warnings: ['settings.json was corrupt and was moved aside'] }
      }),
      updateSettings: vi.fn(async (settings) => ({ ok: true, value: { settings, warnings: [] } }))
    })
    render(SettingsPage)
    expect(await screen.findByRole('alert')).toHaveTextContent('settings.json was corrupt')

    const user = userEvent.setup()
    await user.click(screen.getByLabelText('Use a fixed KMS host instead of DNS discovery'))
    await user.type(screen.getByLabelText('Host name or IP'), 'kms01.lab.example.test')
    await user.click(screen.getByRole('button', { name: 'Save settings' }))

    await waitFor(() => expect(screen.getByTestId('settings-status')).toHaveTextContent('Settings saved.'))
    const saved = kms.updateSettings.mock.calls[0]![0] as ReturnType<typeof defaultSettings>
    expect(saved.client.manualHost).toEqual({ host: 'kms01.lab.example.test', port: 1688 })
  })

  it('shows the message and hint of a rejected save', async () => {
    installFakeKms({
      getSettings: async () => ({ ok: true, value: { settings: defaultSettings(), warnings: [] } }),
      updateSettings: vi.fn(async () => ({
        ok: false,
        error: { code: 'invalid-input', message: 'updateSettings: client.dnsServer: must be an IP address', hint: 'correct the field' }
      }))
    })
    render(SettingsPage)
    const user = userEvent.setup()
    await user.type(await screen.findByLabelText(/DNS server/), 'nope')
    await user.click(screen.getByRole('button', { name: 'Save settings' }))
    await waitFor(() =>
      expect(screen.getByTestId('settings-status')).toHaveTextContent('client.dnsServer: must be an IP address — correct the field')
    )
  })
})
