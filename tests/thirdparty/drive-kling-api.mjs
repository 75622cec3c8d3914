// Drives the npm package kling-api (a third-party Kling client) against an openreel server,
// through the client's own calls only: AK/SK JWT auth, task creation, its polling helpers,
// its download-and-save helpers and its account query. Prints one JSON report on stdout.
//
// Environment: OPENREEL_BASE_URL (https://...), KLING_ACCESS_KEY, KLING_SECRET_KEY,
// OPENREEL_IMAGE and OPENREEL_SECOND_IMAGE (local PNGs or JPEGs), OPENREEL_SMALL_IMAGE (one under Kling's 300 px minimum),
// OPENREEL_OUT (a folder for the downloads).
import { KlingAPI } from 'kling-api';

const baseUrl = process.env.OPENREEL_BASE_URL;
const image = process.env.OPENREEL_IMAGE;
const second = process.env.OPENREEL_SECOND_IMAGE;
const out = process.env.OPENREEL_OUT;
const polling = { interval: 500, timeout: 600000, showSpinner: false };

// Credentials come from KLING_ACCESS_KEY / KLING_SECRET_KEY, the client's own variables.
const api = new KlingAPI({ baseUrl, timeout: 60000 });
const report = {};

async function attempt(name, run) {
  try {
    report[name] = await run();
  } catch (error) {
    report[name] = {
      error: String(error?.message ?? error),
      code: error?.code ?? null,
      http_status: error?.httpStatus ?? null,
      request_id: error?.requestId ?? null,
    };
  }
}

function summary(created, finished, saved) {
  return {
    created_code: created.code,
    task_id: created.data.task_id,
    task_status: finished.data.task_status,
    result_urls: [
      ...(finished.data.task_result?.videos ?? []),
      ...(finished.data.task_result?.images ?? []),
    ].map((item) => item.url),
    saved,
  };
}

await attempt('http_base_url', () => {
  new KlingAPI({ baseUrl: baseUrl.replace('https://', 'http://') });
  return { accepted: true };
});

await attempt('account_costs', async () => {
  const now = Date.now();
  const costs = await api.getAccountInfo(now - 3600000, now);
  return { code: costs.code, data: costs.data };
});

// openreel's refusal, as the client surfaces it (its KlingAPIError).
await attempt('too_small_image', () =>
  api.imageToVideo({ image: process.env.OPENREEL_SMALL_IMAGE, model_name: 'kling-v1' }),
);

// Create every task first so the server renders while the client polls.
const prompt = 'a lighthouse on a cliff at dusk';
const created = {};
await attempt('create', async () => {
  created.image2video = await api.imageToVideo({
    image, prompt, model_name: 'kling-v1', mode: 'std', duration: '5',
  });
  created.text2video = await api.textToVideo({
    prompt, model_name: 'kling-v1', mode: 'std', duration: '5', aspect_ratio: '16:9',
  });
  created.image = await api.generateImage({ prompt, model_name: 'kling-v1', n: 1 });
  created.multi_image2video = await api.multiImageToVideo({
    image_list: [{ image }, { image: second }], prompt, model_name: 'kling-v1-6', duration: '5',
  });
  created.multi_image2image = await api.multiImageToImage({
    subject_image_list: [{ subject_image: image }, { subject_image: second }],
    prompt, model_name: 'kling-v2', n: 1,
  });
  return Object.fromEntries(Object.entries(created).map(([k, v]) => [k, v.data.task_id]));
});

if (created.multi_image2image) {
  await attempt('image2video', async () => {
    const task = created.image2video;
    const query = api.queryImageToVideoTask.bind(api);
    const done = await api.waitForVideoResult(task.data.task_id, query, polling);
    return summary(task, done, await api.saveVideoResult(done, `${out}/image2video`, prompt));
  });
  await attempt('text2video', async () => {
    const task = created.text2video;
    const done = await api.waitForVideoResult(task.data.task_id, undefined, polling);
    return summary(task, done, await api.saveVideoResult(done, `${out}/text2video`, prompt));
  });
  await attempt('image', async () => {
    const task = created.image;
    const done = await api.waitForImageResult(task.data.task_id, undefined, polling);
    return summary(task, done, await api.saveImageResult(done, `${out}/image`, prompt));
  });
  await attempt('multi_image2video', async () => {
    const task = created.multi_image2video;
    const query = api.queryMultiImageToVideoTask.bind(api);
    const done = await api.waitForVideoResult(task.data.task_id, query, polling);
    return summary(task, done, await api.saveVideoResult(done, `${out}/multi_image2video`, prompt));
  });
  await attempt('multi_image2image', async () => {
    const task = created.multi_image2image;
    const query = api.queryMultiImageToImageTask.bind(api);
    const done = await api.waitForImageResult(task.data.task_id, query, polling);
    return summary(task, done, await api.saveImageResult(done, `${out}/multi_image2image`, prompt));
  });
  // The same result behind a loopback address: the client's download guard refuses it.
  await attempt('loopback_download', async () => {
    const done = await api.queryImageToVideoTask(created.image2video.data.task_id);
    for (const video of done.data.task_result.videos) {
      video.url = video.url.replace(new URL(video.url).hostname, '127.0.0.1');
    }
    return { saved: await api.saveVideoResult(done, `${out}/loopback`, prompt) };
  });
}

process.stdout.write(JSON.stringify(report, null, 2) + '\n');
