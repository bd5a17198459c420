// A decode worker: runs decode jobs (decode-jobs.ts) beside the main thread, which only reads files, orders results,
// writes sinks and acknowledges. Only bytes and plain data cross the thread boundary.
import { parentPort, workerData } from 'node:worker_threads';
import { DecodeJobRunner, type DecodeRequest, type DecodeRunnerData } from './decode-jobs.ts';

const runner = new DecodeJobRunner(workerData as DecodeRunnerData);

parentPort!.on('message', (request: DecodeRequest) => {
  if (request.kind === 'close') runner.closeFile(request.file);
  else if (request.kind === 'recycle') runner.giveBack(request.buffer);
  else {
    const { reply, transfer } = runner.run(request);
    parentPort!.postMessage(reply, transfer);
  }
});
