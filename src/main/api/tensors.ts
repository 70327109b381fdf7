import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type TensorsApi = Pick<HearthApi, 'tensorMap' | 'startRecording' | 'stopRecording' | 'recordings' | 'recording'>

export function tensorsApi(ctx: Context): TensorsApi {
  return {
    tensorMap: (input) => ctx.tensors.tensorMap(input.target, input.experts),
    startRecording: (input) => ctx.tensors.startRecording(input),
    stopRecording: (input) => ctx.tensors.stopRecording(input.id),
    recordings: async () => ctx.tensors.recordings(),
    recording: async (input) => ctx.tensors.recording(input.id),
  }
}
