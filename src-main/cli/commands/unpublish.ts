/** `kms-scout unpublish`: removes a KMS host's `_vlmcs._tcp` SRV record; the same options and reporting as publish. */
import { srvUpdateCommand } from './publish'

export const unpublishCommand = srvUpdateCommand('unpublish')
